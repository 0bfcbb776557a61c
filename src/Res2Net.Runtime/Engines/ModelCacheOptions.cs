namespace Res2Net.Engines;

/// <summary>Where published weights and ONNX exports are kept, and where weights are downloaded from.</summary>
public sealed record ModelCacheOptions
{
    /// <summary>The environment variable that names the cache folder.</summary>
    public const string HomeVariable = "RES2NET_HOME";

    /// <summary>The environment variable that replaces the official download base URL.</summary>
    public const string MirrorVariable = "RES2NET_MIRROR";

    /// <summary>The cache folder; null means <c>$RES2NET_HOME</c>, else <c>~/.cache/res2net</c>.</summary>
    public string? Directory { get; init; }

    /// <summary>
    /// Replaces the official base URL (the file name stays the same): an http(s) base URL, a <c>file://</c> URL or an
    /// absolute folder. Null means <c>$RES2NET_MIRROR</c>; empty means the official URLs even when the variable is set.
    /// </summary>
    public string? Mirror { get; init; }

    /// <summary>
    /// Whether ONNX exports of a checkpoint are kept beside it (<c>best.pth</c> gets <c>best.KEY.onnx</c>), so they stay
    /// and go with it; where that folder cannot be written, and when false, they go to the cache folder's <c>onnx</c>.
    /// </summary>
    public bool ExportsBesideWeights { get; init; } = true;

    /// <summary>
    /// The most bytes of exports kept in one folder: past it, the least recently used exports are removed (never one
    /// in use by this process).
    /// </summary>
    public long MaxExportBytes { get; init; } = Limits.DefaultExportCacheBytes;

    /// <summary>The cache folder in effect: <see cref="Directory"/>, else <c>$RES2NET_HOME</c>, else <c>~/.cache/res2net</c>.</summary>
    public string ResolvedDirectory()
    {
        var folder = Directory ?? Environment.GetEnvironmentVariable(HomeVariable);
        if (!string.IsNullOrWhiteSpace(folder))
        {
            return Path.GetFullPath(folder);
        }

        var user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(user) ? Path.Combine(Path.GetTempPath(), "res2net-cache") : Path.Combine(user, ".cache", "res2net");
    }

    /// <summary>Checks the values; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        if (MaxExportBytes < 0)
        {
            throw new InvalidOptionException(nameof(MaxExportBytes), $"must not be negative (got {MaxExportBytes:N0})");
        }
    }
}
