using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;

namespace Res2Net.Client.Internal;

/// <summary>The REST binding: one HttpClient for the client's lifetime, JSON plus the binary tensor extension.</summary>
internal sealed class RestTransport : Transport
{
    private const string HeaderLengthName = "Inference-Header-Content-Length";

    private readonly HttpClient http;
    private readonly Uri baseAddress;
    private readonly InferenceClientOptions options;

    public RestTransport(Uri baseAddress, InferenceClientOptions options, HttpMessageHandler? handler)
    {
        // A trailing '/' keeps the base's path prefix: "http://host/kserve" + "v2/..." is "http://host/kserve/v2/...".
        var left = baseAddress.GetLeftPart(UriPartial.Path);
        this.baseAddress = new Uri(left.EndsWith('/') ? left : left + "/");
        this.options = options;

        // Decompression is set only on a handler of our own: a caller's handler is the caller's to configure.
        var owned = handler is null;
        handler ??= new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate };

        // The per-try timeout is ours (options.Timeout), so HttpClient's own is off.
        http = new HttpClient(handler, disposeHandler: owned) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public override InferenceTransport Kind => InferenceTransport.Rest;

    public override Task<bool> IsServerLiveAsync(CancellationToken cancellationToken)
        => HealthAsync("v2/health/live", "", cancellationToken);

    public override Task<bool> IsServerReadyAsync(CancellationToken cancellationToken)
        => HealthAsync("v2/health/ready", "", cancellationToken);

    public override Task<bool> IsModelReadyAsync(string model, string? version, CancellationToken cancellationToken)
        => HealthAsync(ModelPath(model, version, "/ready"), Errors.Prefix(model, version), cancellationToken);

    public override async Task<ServerMetadata> GetServerMetadataAsync(CancellationToken cancellationToken)
    {
        var answer = await SendAsync(HttpMethod.Get, "v2", "", null, cancellationToken).ConfigureAwait(false);
        return answer.IsSuccess ? RestJson.ReadServerMetadata(answer.Body, answer.Status) : throw Failure(answer, "");
    }

    public override async Task<ModelMetadata> GetModelMetadataAsync(string model, string? version, CancellationToken cancellationToken)
    {
        var prefix = Errors.Prefix(model, version);
        var answer = await SendAsync(HttpMethod.Get, ModelPath(model, version, ""), prefix, null, cancellationToken).ConfigureAwait(false);
        return answer.IsSuccess ? RestJson.ReadModelMetadata(answer.Body, model, prefix, answer.Status) : throw Failure(answer, prefix);
    }

    public override async Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var prefix = Errors.Prefix(request.Model, request.Version);
        var binary = options.BinaryData;
        var (json, blobs) = RestInferRequestWriter.Write(request, binary);
        var answer = await SendAsync(
            HttpMethod.Post,
            ModelPath(request.Model, request.Version, "/infer"),
            prefix,
            message =>
            {
                var content = new InferContent(json, blobs);
                content.Headers.ContentType = new MediaTypeHeaderValue(binary ? "application/octet-stream" : "application/json");
                if (binary)
                {
                    // The byte count of the UTF-8 JSON, which is what the server splits the body at.
                    message.Headers.TryAddWithoutValidation(HeaderLengthName, json.Length.ToString(CultureInfo.InvariantCulture));
                }

                message.Content = content;
            },
            cancellationToken).ConfigureAwait(false);
        if (!answer.IsSuccess)
        {
            throw Failure(answer, prefix);
        }

        int? jsonLength = null;
        if (answer.HeaderLength is string text)
        {
            if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > answer.Body.Length)
            {
                throw Errors.Unreadable(prefix, $"its {HeaderLengthName} is '{text}' for a body of {answer.Body.Length} bytes", answer.Status, null);
            }

            jsonLength = n;
        }

        return RestJson.ReadInferResponse(answer.Body, jsonLength, request.Model, prefix, answer.Status);
    }

    public override void Dispose() => http.Dispose();

    private static string ModelPath(string model, string? version, string suffix)
        => "v2/models/" + Uri.EscapeDataString(model)
            + (string.IsNullOrEmpty(version) ? "" : "/versions/" + Uri.EscapeDataString(version))
            + suffix;

    private async Task<bool> HealthAsync(string path, string prefix, CancellationToken cancellationToken)
    {
        var answer = await SendAsync(HttpMethod.Get, path, prefix, null, cancellationToken).ConfigureAwait(false);
        if (answer.IsSuccess)
        {
            return true;
        }

        // Triton answers 400 (and a busy server 503) for "not live/ready"; 404 means an unknown model or no such endpoint.
        return answer.Status is 400 or 503 ? false : throw Failure(answer, prefix);
    }

    private InferenceServerException Failure(Answer answer, string prefix)
    {
        var text = RestJson.ErrorText(answer.Body);
        var reason = string.IsNullOrEmpty(answer.Reason) ? "" : $" ({answer.Reason})";
        var message = text is not null
            ? prefix + text
            : Errors.Sentence(prefix, $"the server at {baseAddress} answered HTTP {answer.Status}{reason} without an error message.");
        return new InferenceServerException(message, answer.Status, null, answer.RetryAfter);
    }

    private async Task<Answer> SendAsync(HttpMethod method, string path, string prefix, Action<HttpRequestMessage>? prepare, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(options.Timeout);
        }

        try
        {
            using var request = new HttpRequestMessage(method, new Uri(baseAddress, path));
            prepare?.Invoke(request);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var body = await ReadBodyAsync(response.Content, status, prefix, timeout.Token).ConfigureAwait(false);
            return new Answer(status, response.ReasonPhrase, HeaderLength(response), RetryAfter(response.Headers.RetryAfter), body);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            var message = Errors.Sentence(prefix, $"the server at {baseAddress} did not answer within {Errors.Seconds(options.Timeout)}.");
            throw new InferenceServerException(message, null, null, null, new TimeoutException(message, e));
        }
        catch (HttpRequestException e)
        {
            throw new InferenceServerException($"Could not reach the inference server at {baseAddress}: {e.Message}", null, null, null, e);
        }
        catch (InvalidDataException e)
        {
            throw Errors.Unreadable(prefix, $"its compressed body is broken ({e.Message.TrimEnd('.')})", null, null, e);
        }
        catch (IOException e)
        {
            throw new InferenceServerException($"The connection to the inference server at {baseAddress} failed: {e.Message}", null, null, null, e);
        }
    }

    /// <summary>The body, refused past MaxMessageBytes (after decompression: a small gzip body may expand enormously).</summary>
    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContent content, int status, string prefix, CancellationToken cancellationToken)
    {
        var max = options.MaxMessageBytes;
        var encoding = content.Headers.ContentEncoding.LastOrDefault();
        var declared = encoding is null ? content.Headers.ContentLength : null;
        if (declared > max)
        {
            throw TooLarge(declared.Value, status, prefix);
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // Content-Encoding left on the answer means the handler (a caller's) did not decompress it.
            var decoded = encoding?.ToLowerInvariant() switch
            {
                null or "identity" => stream,
                "gzip" => new GZipStream(stream, CompressionMode.Decompress),
                "deflate" => new ZLibStream(stream, CompressionMode.Decompress),
                "br" => new BrotliStream(stream, CompressionMode.Decompress),
                _ => throw Errors.Unreadable(prefix, $"it is compressed with '{encoding}', which this client cannot read", status, null),
            };
            await using (decoded.ConfigureAwait(false))
            {
                var buffer = new byte[Math.Max(1, Math.Min(declared ?? 64 << 10, max))];
                var total = 0;
                while (true)
                {
                    if (total == buffer.Length)
                    {
                        if (buffer.Length >= max)
                        {
                            var probe = new byte[1];
                            if (await decoded.ReadAsync(probe, cancellationToken).ConfigureAwait(false) > 0)
                            {
                                throw TooLarge(null, status, prefix);
                            }

                            break;
                        }

                        Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, max));
                    }

                    var read = await decoded.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    total += read;
                }

                return buffer.AsMemory(0, total);
            }
        }
    }

    private InferenceServerException TooLarge(long? size, int status, string prefix)
    {
        var what = size is long n ? $"{n} bytes" : "larger";
        return new InferenceServerException(
            Errors.Sentence(prefix, $"the server's answer is {what}, more than MaxMessageBytes ({options.MaxMessageBytes} bytes) allows."), status, null);
    }

    private static string? HeaderLength(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues(HeaderLengthName, out var values) || response.Content.Headers.TryGetValues(HeaderLengthName, out values))
        {
            return values.FirstOrDefault();
        }

        return null;
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        if (header?.Delta is TimeSpan delta)
        {
            return delta;
        }

        if (header?.Date is DateTimeOffset date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private readonly record struct Answer(int Status, string? Reason, string? HeaderLength, TimeSpan? RetryAfter, ReadOnlyMemory<byte> Body)
    {
        public bool IsSuccess => Status is >= 200 and <= 299;
    }
}
