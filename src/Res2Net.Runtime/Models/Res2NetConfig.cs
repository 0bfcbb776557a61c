namespace Res2Net.Models;

/// <summary>
/// A ResNet-shaped Res2Net: stem, stages of Res2Net (Bottle2neck) blocks, global pool, linear classifier.
/// Covers Res2Net v1, v1b, Res2NeXt and the CIFAR-style variants.
/// </summary>
public sealed record Res2NetConfig : ModelConfig
{
    /// <summary>Blocks per stage, e.g. [3, 4, 6, 3] for the 50-layer models.</summary>
    public IReadOnlyList<int> Layers { get; init; } = [3, 4, 6, 3];

    /// <summary>Planes of each stage; a stage outputs planes * 4 channels.</summary>
    public IReadOnlyList<int> Widths { get; init; } = [64, 128, 256, 512];

    /// <summary>Channels out of the stem.</summary>
    public int StemWidth { get; init; } = 64;

    /// <summary>The layers before the first stage.</summary>
    public StemType Stem { get; init; } = StemType.Conv7x7;

    /// <summary>Stride of the CIFAR-style stem convolution: 1, or 2 to run the stages at half the image size.</summary>
    public int CifarStemStride { get; init; } = 1;

    /// <summary>Downsample shortcuts with average pooling before a stride-1 1x1 convolution (v1b) instead of a strided 1x1.</summary>
    public bool AvgDown { get; init; }

    /// <summary>Width of one group per 64 planes (the 26 of 26w_4s).</summary>
    public int BaseWidth { get; init; } = 26;

    /// <summary>One stage per entry of <see cref="Layers"/>.</summary>
    public override int StageCount => Layers.Count;

    /// <summary>
    /// The stride of the last stage when no stage is dilated: the stem's (4, or the CIFAR-style stem's own) doubled by
    /// every stage after the first.
    /// </summary>
    public int NaturalOutputStride => (Stem == StemType.Cifar ? CifarStemStride : 4) << Math.Max(0, Layers.Count - 1);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Check(Layers.Count > 0 && Layers.Count == Widths.Count, nameof(Layers),
            $"and Widths must name the same, non-zero number of stages (got {Layers.Count} and {Widths.Count})");
        Check(Layers.All(n => n >= 1) && Widths.All(w => w >= 1), nameof(Layers), "and Widths must give every stage at least one block and a positive width");
        Check(CifarStemStride is 1 or 2 && (CifarStemStride == 1 || Stem == StemType.Cifar), nameof(CifarStemStride),
            $"must be 1, or 2 with the CIFAR-style stem (got {CifarStemStride})");
        // Dense prediction dilates the last one or two stages instead of striding them: a half or a quarter of the stride.
        var strides = Enumerable.Range(0, Math.Min(3, Layers.Count)).Select(k => NaturalOutputStride >> k).Reverse().ToArray();
        Check(strides.Contains(OutputStride), nameof(OutputStride),
            $"must be {(strides.Length == 1 ? "" : string.Join(", ", strides[..^1]) + " or ")}{strides[^1]} (got {OutputStride})");
        Check(BaseWidth >= 1, nameof(BaseWidth), $"must be at least 1 (got {BaseWidth})");
        Check(StemWidth >= 2, nameof(StemWidth), $"must be at least 2 (got {StemWidth})");
        Check(Widths.All(w => w * BaseWidth / 64 >= 1), nameof(BaseWidth), $"{BaseWidth} gives groups of zero channels in the narrowest stage");
    }
}
