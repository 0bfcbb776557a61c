using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Res2Net.Engines;
using Res2Net.IO;
using Res2Net.Models;

namespace Res2Net.Caching;

/// <summary>
/// Downloads published weights once into a cache folder and hands out the local path. Like torch.hub, a file is
/// accepted only when its SHA-256 starts with the published prefix (<see cref="PretrainedConfig.Sha256Prefix"/>), and
/// no file is accepted larger than its tensors can be (<see cref="PretrainedSizes"/>): the download stops as soon as more
/// arrives. It is written through <see cref="AtomicFile"/>, so a failed, partial or concurrent download never leaves a
/// broken file behind.
/// </summary>
internal sealed class WeightsCache : IDisposable
{
    /// <summary>The environment variable that names the cache folder.</summary>
    public const string HomeVariable = ModelCacheOptions.HomeVariable;

    /// <summary>The environment variable that replaces the official download base URL.</summary>
    public const string MirrorVariable = ModelCacheOptions.MirrorVariable;

    private const long ProgressIntervalMs = 100;

    private readonly HttpClient _http;
    private readonly WeightsCacheOptions _options;
    private readonly bool _mirrorFromEnvironment;
    private readonly bool _ownsHandler;

    /// <summary>A cache in the caller's folder, from the caller's mirror.</summary>
    public WeightsCache(ModelCacheOptions cache)
        : this(new WeightsCacheOptions { Cache = cache })
    {
    }

    /// <summary>
    /// Creates a cache; <paramref name="handler"/> replaces the default <see cref="SocketsHttpHandler"/> (tests,
    /// proxies) and is not disposed with the cache.
    /// </summary>
    public WeightsCache(WeightsCacheOptions? options = null, HttpMessageHandler? handler = null)
    {
        _options = options ?? new WeightsCacheOptions();
        CacheDirectory = _options.Cache.ResolvedDirectory();
        _mirrorFromEnvironment = _options.Cache.Mirror is null;
        string? mirror = _options.Cache.Mirror ?? Environment.GetEnvironmentVariable(MirrorVariable);
        Mirror = string.IsNullOrWhiteSpace(mirror) ? null : mirror.Trim();

        // HttpClient.Timeout would cap the whole download; slow links get the stall timeout instead.
        _ownsHandler = handler is null;
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { ConnectTimeout = _options.ConnectTimeout }, disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Res2Net.NET");
    }

    /// <summary>The cache folder (absolute).</summary>
    public string CacheDirectory { get; }

    /// <summary>The mirror in use, or null for the official URLs.</summary>
    public string? Mirror { get; }

    /// <summary>Where the file of <paramref name="weights"/> is (or will be) in the cache.</summary>
    public string PathFor(PretrainedConfig weights) => Path.Combine(CacheDirectory, weights.FileName);

    /// <summary>True when the file is in the cache (not verified).</summary>
    public bool IsCached(PretrainedConfig weights) => File.Exists(PathFor(weights));

    /// <summary>The URL (or, for a folder mirror, the path) the file is downloaded from.</summary>
    public string SourceFor(PretrainedConfig weights) => Resolve(weights).Location;

    /// <summary>The local path of published weights, downloaded first if needed, at most <see cref="PretrainedSizes.get_MaxBytes"/> long.</summary>
    public Task<string> GetAsync(PretrainedConfig weights, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        GetAsync(weights, weights.MaxBytes, progress, cancellationToken);

    /// <summary>
    /// The local path of <paramref name="weights"/>: the cached file (re-verified unless switched off), or a fresh,
    /// verified download of at most <paramref name="maxBytes"/>. Throws <see cref="WeightsDownloadException"/> on any
    /// failure, and <see cref="OperationCanceledException"/> when cancelled; neither leaves a file behind.
    /// </summary>
    public async Task<string> GetAsync(PretrainedConfig weights, long maxBytes, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        string target = PathFor(weights);
        string? expected = ExpectedPrefix(weights);
        var cached = FileSystemEntry.Of(target);
        if (cached.Kind is not (EntryKind.Missing or EntryKind.Regular))
        {
            // Never read (a FIFO would block, a device never end) and never deleted (it is not ours).
            throw new WeightsDownloadException($"the cached weights {target} are {cached.Describe()}, not a file; remove it, or open a checkpoint you have with ModelSource.Checkpoint.");
        }

        if (cached.Kind == EntryKind.Regular && cached.Size > maxBytes)
        {
            bool removed = TryDelete(target);
            throw new WeightsDownloadException($"the cached weights {target} are {cached.Size:N0} bytes, more than the {maxBytes:N0} the published file can be{(removed ? "; they were deleted, run again to download them" : "; delete the file")}.");
        }

        if (cached.Kind == EntryKind.Regular)
        {
            if (_options.VerifyCached && expected is not null)
            {
                await VerifyCachedAsync(target, expected, cancellationToken).ConfigureAwait(false);
            }

            return target;
        }

        var source = Resolve(weights);
        CreateCacheDirectory();
        AtomicFile.RemoveStale(CacheDirectory, TimeSpan.FromHours(Limits.StalePartialHours));
        string? sha256 = null;
        try
        {
            await AtomicFile.WriteAsync(target, async (file, ct) =>
            {
                sha256 = await DownloadAsync(source, weights.FileName, file, maxBytes, progress, ct).ConfigureAwait(false);
                if (expected is not null && !sha256.StartsWith(expected, StringComparison.Ordinal))
                {
                    throw new WeightsDownloadException(
                        $"the download of {source.Location} was refused because its SHA-256 starts with {sha256[..expected.Length]}, not {expected} " +
                        $"(the file is damaged or not the published one), and nothing was saved; {Hint()}.");
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Res2NetException e) when (e is not WeightsDownloadException)
        {
            // AtomicFile's own failures (a full disk, a folder that cannot be written) in this cache's words.
            throw new WeightsDownloadException($"could not write into the cache ({e.Message.TrimEnd('.')}); free some space or set {HomeVariable} to another folder, or open a checkpoint you have with ModelSource.Checkpoint.", e);
        }

        FileHashes.Remember(target, sha256!);
        return target;
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private sealed record Source(string Location, bool IsLocal);

    private Source Resolve(PretrainedConfig weights)
    {
        if (Mirror is null)
        {
            return new Source(weights.Url, false);
        }

        if (Mirror.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || Mirror.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (Uri.TryCreate(Mirror, UriKind.Absolute, out _))
            {
                return new Source(Mirror.TrimEnd('/') + "/" + weights.FileName, false);
            }
        }
        else if (Mirror.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(Mirror, UriKind.Absolute, out var uri) && uri.IsFile)
        {
            return new Source(Path.Combine(uri.LocalPath, weights.FileName), true);
        }
        else if (Path.IsPathFullyQualified(Mirror))
        {
            return new Source(Path.Combine(Mirror, weights.FileName), true);
        }

        string name = _mirrorFromEnvironment ? MirrorVariable : "the mirror";
        throw new WeightsDownloadException(
            $"{name} '{Mirror}' is neither an http(s) URL nor an absolute folder; set it to a base URL such as https://example.org/res2net/ " +
            "or to a folder that holds the .pth files, or pass a checkpoint you have as weightsPath.");
    }

    /// <summary>The published hash prefix, lower case, or null when the weights publish none.</summary>
    private static string? ExpectedPrefix(PretrainedConfig weights)
    {
        string prefix = weights.Sha256Prefix.ToLowerInvariant();
        return prefix.Length > 0 && prefix.All(char.IsAsciiHexDigitLower) ? prefix : null;
    }

    private string Hint() =>
        $"the cache is {CacheDirectory}; download the file yourself and open it with ModelSource.Checkpoint, or set {MirrorVariable} to a reachable mirror";

    private WeightsDownloadException Failed(Source source, string reason, Exception? inner = null) =>
        new($"could not {(source.IsLocal ? "copy" : "download")} {source.Location} ({reason}); {Hint()}.", inner);

    private async Task VerifyCachedAsync(string path, string expected, CancellationToken cancellationToken)
    {
        string actual;
        try
        {
            actual = await FileHashes.Sha256Async(path, "cached weights", cancellationToken).ConfigureAwait(false);
        }
        catch (Res2NetException e)
        {
            throw new WeightsDownloadException($"could not read the cached weights {path} ({Trim(e.Message)}); delete it or open a checkpoint you have with ModelSource.Checkpoint.", e);
        }

        if (actual.StartsWith(expected, StringComparison.Ordinal))
        {
            return;
        }

        // Deleted so that the next run downloads a fresh copy instead of failing again.
        bool deleted = TryDelete(path);
        throw new WeightsDownloadException(deleted
            ? $"the cached weights {path} are damaged (SHA-256 starts with {actual[..expected.Length]}, not {expected}) and were deleted; run again to download them, or open a checkpoint you have with ModelSource.Checkpoint."
            : $"the cached weights {path} are damaged (SHA-256 starts with {actual[..expected.Length]}, not {expected}) and could not be deleted; delete the file, or open a checkpoint you have with ModelSource.Checkpoint.");
    }

    private void CreateCacheDirectory()
    {
        try
        {
            System.IO.Directory.CreateDirectory(CacheDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsDownloadException(
                $"could not create the cache folder {CacheDirectory} ({Trim(e.Message)}); set {HomeVariable} to a writable folder, or open a checkpoint you have with ModelSource.Checkpoint.", e);
        }
    }

    /// <summary>Copies the source into <paramref name="file"/>, hashing on the way; returns the lowercase hex SHA-256.</summary>
    private async Task<string> DownloadAsync(Source source, string fileName, FileStream file, long maxBytes,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        HttpResponseMessage? response = null;
        Stream body;
        long? total;
        try
        {
            if (source.IsLocal)
            {
                var entry = FileSystemEntry.Of(source.Location);
                if (entry.Kind is not (EntryKind.Regular or EntryKind.Missing))
                {
                    throw Failed(source, $"it is {entry.Describe()}, not a file");
                }

                if (entry.Size > maxBytes)
                {
                    throw Failed(source, $"it is {entry.Size:N0} bytes, more than the {maxBytes:N0} the published file can be");
                }

                body = OpenLocal(source);
                total = body.Length;
            }
            else
            {
                stall.CancelAfter(_options.StallTimeout);
                response = await SendAsync(source, stall.Token, cancellationToken).ConfigureAwait(false);
                total = response.Content.Headers.ContentLength;
                if (total > maxBytes)
                {
                    throw Failed(source, $"the server announces {total:N0} bytes, more than the {maxBytes:N0} the published file can be");
                }

                body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            // Our stall timer, or else the handler's connect timeout (a TimeoutException inside).
            throw Failed(source, stall.IsCancellationRequested
                ? $"no response within {Seconds(_options.StallTimeout)}"
                : _ownsHandler ? $"no connection within {Seconds(_options.ConnectTimeout)}" : "the connection timed out", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            response?.Dispose();
            throw Failed(source, Reason(e), e);
        }
        catch (Exception e) when (e is UriFormatException or InvalidOperationException or NotSupportedException)
        {
            // A redirect to file:///etc/passwd and the like: only http(s) is followed.
            response?.Dispose();
            throw Failed(source, "the server redirected to an address that is not http(s)", e);
        }

        using (response)
        await using (body)
        {
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                byte[] buffer = new byte[1 << 16];
                long received = 0;
                long lastReport = Environment.TickCount64;
                long started = Environment.TickCount64, windowStart = started, windowBytes = 0;
                long windowMs = (long)_options.StallTimeout.TotalMilliseconds;
                progress?.Report(new DownloadProgress(fileName, 0, total));
                while (true)
                {
                    int n;
                    stall.CancelAfter(_options.StallTimeout);
                    try
                    {
                        n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw Failed(source, $"no data for {Seconds(_options.StallTimeout)} after {Bytes(received, total)}");
                    }
                    catch (Exception e) when (e is HttpRequestException or IOException)
                    {
                        throw Failed(source, $"{Reason(e)} after {Bytes(received, total)}", e);
                    }

                    if (n == 0)
                    {
                        break;
                    }

                    sha.AppendData(buffer, 0, n);
                    received += n;
                    windowBytes += n;
                    if (received > maxBytes)
                    {
                        // Counted before it is written: not one byte past what the published file can be reaches the disk.
                        throw Failed(source, $"more than the {maxBytes:N0} bytes the published file can be arrived");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);

                    var now = Environment.TickCount64;
                    if (now - started > _options.Deadline.TotalMilliseconds)
                    {
                        throw Failed(source, $"it took longer than {Seconds(_options.Deadline)} ({Bytes(received, total)})");
                    }

                    if (now - windowStart >= windowMs)
                    {
                        // Bytes, not reads, decide: one byte every few seconds keeps a per-read timer happy forever.
                        if (windowBytes < _options.MinBytesPerSecond * windowMs / 1000)
                        {
                            throw Failed(source, $"only {windowBytes:N0} bytes arrived in {Seconds(_options.StallTimeout)} after {Bytes(received, total)}");
                        }

                        (windowStart, windowBytes) = (now, 0);
                    }

                    if (progress is not null && Environment.TickCount64 - lastReport >= ProgressIntervalMs)
                    {
                        lastReport = Environment.TickCount64;
                        progress.Report(new DownloadProgress(fileName, received, total));
                    }
                }

                // A server may close a keep-alive-less connection early without the client noticing.
                if (total is long expectedLength && received != expectedLength)
                {
                    throw Failed(source, $"the connection closed after {Bytes(received, total)}");
                }

                progress?.Report(new DownloadProgress(fileName, received, total));
                return Convert.ToHexStringLower(sha.GetHashAndReset());
            }
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Source source, CancellationToken token, CancellationToken cancellationToken)
    {
        var response = await _http.GetAsync(source.Location, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string phrase = string.IsNullOrWhiteSpace(response.ReasonPhrase) ? "" : " " + response.ReasonPhrase;
            throw Failed(source, $"HTTP {(int)response.StatusCode}{phrase}");
        }
    }

    private FileStream OpenLocal(Source source)
    {
        try
        {
            return new FileStream(source.Location, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (FileNotFoundException e)
        {
            throw Failed(source, "no such file", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw Failed(source, "no such folder", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw Failed(source, "permission denied", e);
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A short, lowercase reason for a network failure, e.g. "connection refused".</summary>
    private static string Reason(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is SocketException s)
            {
                string? known = s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name not found",
                    SocketError.NetworkUnreachable or SocketError.NetworkDown => "network unreachable",
                    SocketError.HostUnreachable or SocketError.HostDown => "host unreachable",
                    SocketError.TimedOut => "connection timed out",
                    SocketError.ConnectionReset => "connection reset",
                    SocketError.ConnectionAborted => "connection aborted",
                    _ => null,
                };
                if (known is not null)
                {
                    return known;
                }
            }
        }

        HttpRequestError? error = e switch
        {
            HttpRequestException h => h.HttpRequestError,
            IOException { InnerException: HttpIOException io } => io.HttpRequestError,
            HttpIOException io => io.HttpRequestError,
            _ => null,
        };
        return error switch
        {
            HttpRequestError.NameResolutionError => "host name not found",
            HttpRequestError.ResponseEnded => "the connection closed early",
            HttpRequestError.SecureConnectionError => $"TLS failed: {Trim(Innermost(e).Message)}",
            HttpRequestError.ProxyTunnelError => $"proxy failed: {Trim(Innermost(e).Message)}",
            _ => Trim(Innermost(e).Message),
        };
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    /// <summary>Messages are embedded in one sentence, so their final period goes.</summary>
    private static string Trim(string message)
    {
        message = message.Trim();
        while (message.EndsWith('.'))
        {
            message = message[..^1];
        }

        return message;
    }

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s";

    private static string Bytes(long received, long? total) =>
        total is long t
            ? $"{received.ToString("N0", CultureInfo.InvariantCulture)} of {t.ToString("N0", CultureInfo.InvariantCulture)} bytes"
            : $"{received.ToString("N0", CultureInfo.InvariantCulture)} bytes";
}
