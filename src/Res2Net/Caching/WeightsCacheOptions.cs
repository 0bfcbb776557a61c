namespace Res2Net.Caching;

/// <summary>Where <see cref="WeightsCache"/> keeps files, where it downloads them from, and how long it waits.</summary>
public sealed record WeightsCacheOptions
{
    /// <summary>The cache folder; null means <c>$RES2NET_HOME</c>, else <c>~/.cache/res2net</c>.</summary>
    public string? Directory { get; init; }

    /// <summary>
    /// Replaces the official base URL (the file name stays the same): an http(s) base URL, a <c>file://</c> URL or an
    /// absolute folder, with or without a trailing slash. Null means <c>$RES2NET_MIRROR</c>; empty means the official
    /// URLs even when the variable is set.
    /// </summary>
    public string? Mirror { get; init; }

    /// <summary>How long to wait for a TCP (and TLS) connection; only used when no handler is given.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long to wait for the response headers, and the window over which the body must keep arriving at
    /// <see cref="MinBytesPerSecond"/>: a server that sends a byte now and then is given up on like a silent one.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The slowest transfer accepted, averaged over each <see cref="StallTimeout"/> window.</summary>
    public long MinBytesPerSecond { get; init; } = 4096;

    /// <summary>The largest file accepted (the published weights are at most a few hundred MB); more is refused and deleted.</summary>
    public long MaxBytes { get; init; } = 1L << 30;

    /// <summary>The longest a whole download may take.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Re-hash a cached file before using it (about 0.3 s per 100 MB).</summary>
    public bool VerifyCached { get; init; } = true;
}
