using Res2Net.Engines;

namespace Res2Net.Caching;

/// <summary>Where <see cref="WeightsCache"/> keeps files, where it downloads them from, and how long it waits (the defaults are <see cref="Limits"/>').</summary>
internal sealed record WeightsCacheOptions
{
    /// <summary>The cache folder and the mirror, as the caller gave them.</summary>
    public ModelCacheOptions Cache { get; init; } = new();

    /// <summary>How long to wait for a TCP (and TLS) connection; only used when no handler is given.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(Limits.DownloadConnectSeconds);

    /// <summary>
    /// How long to wait for the response headers, and the window over which the body must keep arriving at
    /// <see cref="MinBytesPerSecond"/>: a server that sends a byte now and then is given up on like a silent one.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(Limits.DownloadStallSeconds);

    /// <summary>The slowest transfer accepted, averaged over each <see cref="StallTimeout"/> window.</summary>
    public long MinBytesPerSecond { get; init; } = Limits.DownloadMinBytesPerSecond;

    /// <summary>The longest a whole download may take.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(Limits.DownloadDeadlineSeconds);

    /// <summary>Re-hash a cached file before using it (once per process; about 0.3 s per 100 MB).</summary>
    public bool VerifyCached { get; init; } = true;
}
