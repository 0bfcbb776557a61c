namespace Res2Net.Models;

/// <summary>What a model costs at one input size.</summary>
/// <param name="Height">Input height in pixels.</param>
/// <param name="Width">Input width in pixels.</param>
/// <param name="Params">Parameters (weights and biases; not the batch norms' running statistics).</param>
/// <param name="Macs">Multiply-accumulates of the convolutions and linear layers, per image.</param>
/// <param name="Parts">The stem, each stage and the head.</param>
/// <param name="Stages">The stages' names, channels and reductions (the model's feature info).</param>
public sealed record ModelProfile(int Height, int Width, long Params, long Macs, IReadOnlyList<PartProfile> Parts, IReadOnlyList<StageInfo> Stages)
{
    /// <summary>Billions of multiply-accumulates per image.</summary>
    public double GMacs => Macs / 1e9;

    /// <summary>The total stride of the last stage (32 for classification, 16 or 8 dilated).</summary>
    public int OutputStride => Stages.Count > 0 ? Stages[^1].Reduction : 1;
}
