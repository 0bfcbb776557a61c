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

    /// <summary>Total stride of the last stage: 32 for classification; 16 or 8 dilate the last stages for dense prediction.</summary>
    public int OutputStride { get; init; } = 32;

    /// <summary>Whose blocks the model follows where implementations differ (the official code's, or mmdetection's).</summary>
    public BlockStyle Style { get; init; } = BlockStyle.Official;
}
