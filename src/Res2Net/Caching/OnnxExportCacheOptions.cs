namespace Res2Net.Caching;

/// <summary>Where <see cref="OnnxExportCache"/> keeps the ONNX exports it makes.</summary>
public sealed record OnnxExportCacheOptions
{
    /// <summary>
    /// Whether exports are kept beside the weights file (<c>best.pth</c> gets <c>best.KEY.onnx</c>), so they stay and go
    /// with their checkpoint; default true. Where that folder cannot be written, and when false, they go to
    /// <see cref="Directory"/>.
    /// </summary>
    public bool CacheBesideWeights { get; init; } = true;

    /// <summary>The other cache folder; null means the res2net cache folder ($RES2NET_HOME or ~/.cache/res2net) + /onnx.</summary>
    public string? Directory { get; init; }
}
