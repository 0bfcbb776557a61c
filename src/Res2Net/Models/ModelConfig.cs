namespace Res2Net.Models;

/// <summary>How the first layers turn the image into the first feature map.</summary>
public enum StemType
{
    /// <summary>One 7x7 stride-2 convolution, then a 3x3 stride-2 max-pool (ResNet v1, Res2Net v1).</summary>
    Conv7x7,

    /// <summary>Three 3x3 convolutions (to StemWidth/2, StemWidth/2, StemWidth), then the max-pool (Res2Net v1b, timm "d").</summary>
    Deep,

    /// <summary>One 3x3 stride-1 convolution and no max-pool, for 28-32 pixel images (CIFAR-style).</summary>
    Cifar,
}

/// <summary>Which block the DLA tree is built from.</summary>
public enum DlaBlock
{
    /// <summary>Res2Net block, width floor(planes * baseWidth / 128).</summary>
    Res2Net,

    /// <summary>Res2NeXt block, width planes * cardinality / 32, grouped 3x3 convolutions.</summary>
    Res2NeXt,
}

/// <summary>What every model configuration shares.</summary>
public abstract record ModelConfig
{
    /// <summary>Classifier outputs; 0 builds the backbone without a classifier (pooled features out).</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Channels of the input image (3 for RGB, 1 for grayscale).</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Number of feature groups in each block (the paper's s).</summary>
    public int Scale { get; init; } = 4;

    /// <summary>Groups of the 3x3 convolutions (ResNeXt cardinality); 1 for Res2Net.</summary>
    public int Cardinality { get; init; } = 1;

    /// <summary>Builds a model with freshly initialised weights.</summary>
    public abstract Res2NetBackbone Build();
}

/// <summary>
/// A ResNet-shaped Res2Net: stem, stages of <see cref="Bottle2neck"/> blocks, global pool, linear classifier.
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

    public StemType Stem { get; init; } = StemType.Conv7x7;

    /// <summary>Stride of the CIFAR-style stem convolution: 1, or 2 to run the stages at half the image size.</summary>
    public int CifarStemStride { get; init; } = 1;

    /// <summary>Downsample shortcuts with average pooling before a stride-1 1x1 convolution (v1b) instead of a strided 1x1.</summary>
    public bool AvgDown { get; init; }

    /// <summary>Width of one group per 64 planes (the 26 of 26w_4s).</summary>
    public int BaseWidth { get; init; } = 26;

    /// <summary>Total stride of the last stage: 32 for classification; 16 or 8 dilate the last stages for dense prediction.</summary>
    public int OutputStride { get; init; } = 32;

    public override Res2NetBackbone Build() => new Res2NetModel(this);
}

/// <summary>Deep Layer Aggregation (Yu et al.) built from Res2Net or Res2NeXt blocks, as the official dla.py.</summary>
public sealed record DlaConfig : ModelConfig
{
    /// <summary>Convolutions of level0 and level1, then the tree depth of level2..level5.</summary>
    public IReadOnlyList<int> Levels { get; init; } = [1, 1, 1, 2, 3, 1];

    /// <summary>Output channels of level0..level5.</summary>
    public IReadOnlyList<int> Channels { get; init; } = [16, 32, 128, 256, 512, 1024];

    public DlaBlock Block { get; init; } = DlaBlock.Res2Net;

    /// <summary>Width of one group per 128 planes, used by the Res2Net block only.</summary>
    public int BaseWidth { get; init; } = 28;

    public override Res2NetBackbone Build() => new DlaModel(this);
}
