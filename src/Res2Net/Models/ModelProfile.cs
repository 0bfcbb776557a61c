namespace Res2Net.Models;

/// <summary>What a model costs at one input size.</summary>
public sealed record ModelProfile(int Height, int Width, long Params, long Macs, IReadOnlyList<PartProfile> Parts)
{
    /// <summary>Billions of multiply-accumulates per image.</summary>
    public double GMacs => Macs / 1e9;
}
