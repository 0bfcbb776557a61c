namespace Res2Net.Client;

/// <summary>How an <see cref="InferenceClient"/> retries, times out and encodes its requests. Every property has a default.</summary>
public sealed record InferenceClientOptions
{
    /// <summary>
    /// How many times a request is tried again after the server answered HTTP 503 or gRPC UNAVAILABLE (3; 0 never
    /// retries). No other failure is retried. The wait is the server's <c>Retry-After</c> where it sends one, else 0.5 s
    /// doubling each time; each wait is at most <see cref="MaxRetryDelay"/>. Health checks are never retried.
    /// </summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The longest wait between two tries (30 s).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one try may take, answer read included (100 s); <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for no limit.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The largest message in bytes (256 MiB): gRPC's send and receive limits; a REST answer larger than this is refused.
    /// </summary>
    public int MaxMessageBytes { get; init; } = 256 << 20;

    /// <summary>
    /// REST only: send the inputs with the binary tensor extension and ask for the outputs as binary data (true), or
    /// use JSON <c>data</c> arrays both ways (false, for servers without the extension; FP16 and BF16 then cannot be sent).
    /// </summary>
    public bool BinaryData { get; init; } = true;

    /// <summary>The BYTES input that <see cref="InferenceClient.ClassifyAsync(string, ReadOnlyMemory{byte}, int, CancellationToken)"/> sends the encoded photos to ("image").</summary>
    public string ImageInput { get; init; } = "image";

    /// <summary>The output that classification asks the top classes of ("logits").</summary>
    public string ClassifierOutput { get; init; } = "logits";

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (MaxRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "MaxRetries must be at least 0.");
        }

        if (MaxRetryDelay < TimeSpan.Zero || MaxRetryDelay.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryDelay), MaxRetryDelay, "MaxRetryDelay must be between 0 and 24 days.");
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Timeout must be positive, or Timeout.InfiniteTimeSpan.");
        }

        if (Timeout != System.Threading.Timeout.InfiniteTimeSpan && Timeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Timeout must be at most 24 days, or Timeout.InfiniteTimeSpan.");
        }

        if (MaxMessageBytes < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMessageBytes), MaxMessageBytes, "MaxMessageBytes must be at least 1024.");
        }

        if (string.IsNullOrEmpty(ImageInput))
        {
            throw new ArgumentException("ImageInput must name an input.", nameof(ImageInput));
        }

        if (string.IsNullOrEmpty(ClassifierOutput))
        {
            throw new ArgumentException("ClassifierOutput must name an output.", nameof(ClassifierOutput));
        }
    }
}
