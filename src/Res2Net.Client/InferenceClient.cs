using Res2Net.Client.Internal;

namespace Res2Net.Client;

/// <summary>
/// A client for any Open Inference Protocol (KServe v2 / Triton) server, over REST or gRPC: health, metadata,
/// inference and classification. Thread-safe; make one per server and keep it (it holds one connection pool). Calls
/// answered with HTTP 503 or gRPC UNAVAILABLE are retried as <see cref="InferenceClientOptions.MaxRetries"/> says;
/// every failure is an <see cref="InferenceServerException"/>, and a bad argument an <see cref="ArgumentException"/>.
/// </summary>
public sealed class InferenceClient : IDisposable
{
    private readonly Transport transport;
    private readonly InferenceClientOptions options;
    private bool disposed;

    private InferenceClient(Transport transport, InferenceClientOptions options)
    {
        this.transport = transport;
        this.options = options;
    }

    /// <summary>How this client talks to its server.</summary>
    public InferenceTransport Transport => transport.Kind;

    /// <summary>
    /// A client for the REST binding at <paramref name="baseAddress"/> (for example <c>http://localhost:8000</c>; a path
    /// prefix such as <c>http://gateway/kserve/</c> is kept). <paramref name="handler"/>, when given, is used as it is
    /// and not disposed with the client; otherwise the client makes one that accepts gzip and deflate answers.
    /// </summary>
    public static InferenceClient ForRest(Uri baseAddress, InferenceClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        options = Checked(baseAddress, options);
        return new InferenceClient(new RestTransport(baseAddress, options, handler), options);
    }

    /// <summary>
    /// A client for the gRPC binding at <paramref name="address"/> (for example <c>http://localhost:8001</c>, which
    /// means HTTP/2 without TLS; <c>https://</c> for TLS). The message limits are raised to
    /// <see cref="InferenceClientOptions.MaxMessageBytes"/>. <paramref name="handler"/>, when given, must speak HTTP/2
    /// and is not disposed with the client. <c>grpc://host:port</c> (as <c>res2net serve</c> prints it) means
    /// <c>http://host:port</c>, and <c>grpcs://</c> means <c>https://</c>.
    /// </summary>
    public static InferenceClient ForGrpc(Uri address, InferenceClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsAbsoluteUri && address.Scheme is "grpc" or "grpcs")
        {
            address = new UriBuilder(address) { Scheme = address.Scheme == "grpc" ? Uri.UriSchemeHttp : Uri.UriSchemeHttps, Port = address.Port }.Uri;
        }

        options = Checked(address, options);
        return new InferenceClient(new GrpcTransport(address, options, handler), options);
    }

    /// <summary>Whether the server is live (REST: HTTP 200; 400 or 503 is false).</summary>
    /// <exception cref="InferenceServerException">The server could not be reached or answered something else.</exception>
    public Task<bool> IsServerLiveAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return transport.IsServerLiveAsync(cancellationToken);
    }

    /// <summary>Whether the server is ready for inference (REST: HTTP 200; 400 or 503 is false).</summary>
    /// <exception cref="InferenceServerException">The server could not be reached or answered something else.</exception>
    public Task<bool> IsServerReadyAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return transport.IsServerReadyAsync(cancellationToken);
    }

    /// <summary>Whether <paramref name="model"/> (<paramref name="version"/>, or the server's choice when null) can serve inference now.</summary>
    /// <exception cref="InferenceServerException">The server does not know the model (HTTP 404, gRPC NOT_FOUND), could not be reached, or failed.</exception>
    public Task<bool> IsModelReadyAsync(string model, string? version = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(model);
        return transport.IsModelReadyAsync(model, NullIfEmpty(version), cancellationToken);
    }

    /// <summary>The server's name, version and protocol extensions.</summary>
    /// <exception cref="InferenceServerException">The server failed the request or could not be reached.</exception>
    public Task<ServerMetadata> GetServerMetadataAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return Retry.RunAsync(transport.GetServerMetadataAsync, options, cancellationToken);
    }

    /// <summary>The name, versions, platform, signatures and properties of <paramref name="model"/>.</summary>
    /// <exception cref="InferenceServerException">The server does not know the model, failed, or could not be reached.</exception>
    public Task<ModelMetadata> GetModelMetadataAsync(string model, string? version = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(model);
        version = NullIfEmpty(version);
        return Retry.RunAsync(ct => transport.GetModelMetadataAsync(model, version, ct), options, cancellationToken);
    }

    /// <summary>Runs <paramref name="request"/> and returns the model's outputs.</summary>
    /// <exception cref="ArgumentException">The request is malformed (or, without the binary extension, holds data JSON cannot carry).</exception>
    /// <exception cref="InferenceServerException">The server refused or failed the request, or could not be reached.</exception>
    public Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        request = Checked(request);
        return Retry.RunAsync(ct => transport.InferAsync(request, ct), options, cancellationToken);
    }

    /// <summary>
    /// The top <paramref name="topk"/> classes of one encoded photo (JPEG, PNG, ...; the server decodes and preprocesses
    /// it), highest first as the server sends them. See the batch overload for what is sent.
    /// </summary>
    /// <exception cref="InferenceServerException">The server refused or failed the request, or answered without the classification extension.</exception>
    public async Task<IReadOnlyList<ClassScore>> ClassifyAsync(string model, ReadOnlyMemory<byte> photo, int topk = 5, CancellationToken cancellationToken = default)
    {
        var rows = await ClassifyAsync(model, [photo], topk, cancellationToken).ConfigureAwait(false);
        return rows[0];
    }

    /// <summary>
    /// The top <paramref name="topk"/> classes of each encoded photo, in photo order: the photos go as one BYTES input
    /// named <see cref="InferenceClientOptions.ImageInput"/> of shape [N], and the output
    /// <see cref="InferenceClientOptions.ClassifierOutput"/> is asked for through the classification extension, whose
    /// "score:index[:label]" strings are read back.
    /// </summary>
    /// <exception cref="InferenceServerException">The server refused or failed the request, or answered without the classification extension.</exception>
    public async Task<IReadOnlyList<IReadOnlyList<ClassScore>>> ClassifyAsync(
        string model, IReadOnlyList<ReadOnlyMemory<byte>> photos, int topk = 5, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(photos);
        ArgumentOutOfRangeException.ThrowIfLessThan(topk, 1);
        if (photos.Count == 0)
        {
            throw new ArgumentException("At least one photo is needed.", nameof(photos));
        }

        for (var i = 0; i < photos.Count; i++)
        {
            if (photos[i].IsEmpty)
            {
                throw new ArgumentException($"Photo {i} is empty.", nameof(photos));
            }
        }

        var request = new InferenceRequest
        {
            Model = model,
            Inputs = [InferTensor.FromBytes(options.ImageInput, photos, [photos.Count])],
            Outputs = [new RequestedOutput(options.ClassifierOutput) { Classification = topk }],
        };
        var result = await InferAsync(request, cancellationToken).ConfigureAwait(false);
        return ClassScores(result, model, photos.Count);
    }

    /// <summary>Closes the connections this client made (a caller's handler is left open).</summary>
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            transport.Dispose();
        }
    }

    private IReadOnlyList<IReadOnlyList<ClassScore>> ClassScores(InferenceResult result, string model, int photos)
    {
        var prefix = Errors.Prefix(model, null);
        var output = result.Outputs.FirstOrDefault(o => o.Name == options.ClassifierOutput)
            ?? throw Errors.Unreadable(prefix, $"it has no output '{options.ClassifierOutput}' (it has {string.Join(", ", result.Outputs.Select(o => $"'{o.Name}'"))})", null, null);
        if (output.Datatype != TensorDatatype.Bytes)
        {
            throw Errors.Unreadable(
                prefix, $"output '{output.Name}' came back as {output.Datatype.ToWireName()} values, not classification strings; does the server implement the classification extension?", null, null);
        }

        IReadOnlyList<string> entries;
        try
        {
            entries = output.ToStrings();
        }
        catch (InvalidOperationException e)
        {
            throw Errors.Unreadable(prefix, e.Message, null, null, e);
        }

        if (entries.Count % photos != 0)
        {
            throw Errors.Unreadable(prefix, $"{entries.Count} classification entries do not split evenly over {photos} photos", null, null);
        }

        var perPhoto = entries.Count / photos;
        var rows = new IReadOnlyList<ClassScore>[photos];
        for (var p = 0; p < photos; p++)
        {
            var row = new ClassScore[perPhoto];
            for (var i = 0; i < perPhoto; i++)
            {
                var entry = entries[(p * perPhoto) + i];
                if (!ClassificationParser.TryParse(entry, out row[i]))
                {
                    throw Errors.Unreadable(prefix, $"the classification entry '{entry}' is not \"score:index[:label]\"", null, null);
                }
            }

            rows[p] = Array.AsReadOnly(row);
        }

        return Array.AsReadOnly(rows);
    }

    private static InferenceClientOptions Checked(Uri address, InferenceClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{address}' is not an absolute http:// or https:// address.", nameof(address));
        }

        options ??= new InferenceClientOptions();
        options.Validate();
        return options;
    }

    /// <summary>The request with an empty version made null and every parameter of a type the protocol has; throws on anything malformed.</summary>
    private static InferenceRequest Checked(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Model))
        {
            throw new ArgumentException("The request names no model.", nameof(request));
        }

        if (request.Inputs is null || request.Outputs is null || request.Parameters is null)
        {
            throw new ArgumentException("The request's Inputs, Outputs and Parameters must not be null.", nameof(request));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in request.Inputs)
        {
            if (input is null)
            {
                throw new ArgumentException("The request's Inputs hold a null.", nameof(request));
            }

            if (!names.Add(input.Name))
            {
                throw new ArgumentException($"The request has two inputs named '{input.Name}'.", nameof(request));
            }
        }

        names.Clear();
        foreach (var output in request.Outputs)
        {
            if (output is null || string.IsNullOrEmpty(output.Name))
            {
                throw new ArgumentException("Each requested output needs a name.", nameof(request));
            }

            if (!names.Add(output.Name))
            {
                throw new ArgumentException($"The request asks twice for output '{output.Name}'.", nameof(request));
            }

            if (output.Classification is < 1)
            {
                throw new ArgumentException($"Output '{output.Name}': Classification must be at least 1, not {output.Classification}.", nameof(request));
            }
        }

        foreach (var pair in request.Parameters)
        {
            if (string.IsNullOrEmpty(pair.Key))
            {
                throw new ArgumentException("A parameter has an empty name.", nameof(request));
            }

            ParameterValues.Normalize(pair.Key, pair.Value);
        }

        return request.Version is "" ? request with { Version = null } : request;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
