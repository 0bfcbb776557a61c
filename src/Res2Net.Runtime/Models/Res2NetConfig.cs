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

    /// <summary>Checks the configuration; <see cref="InvalidOptionException"/> names the first property out of range.</summary>
    public void Validate()
    {
        if (Layers.Count == 0 || Layers.Count != Widths.Count)
        {
            throw new InvalidOptionException("Layers", $"and Widths must name the same, non-zero number of stages (got {Layers.Count} and {Widths.Count})");
        }

        if (Layers.Any(n => n < 1) || Widths.Any(w => w < 1))
        {
            throw new InvalidOptionException("Layers", "and Widths must give every stage at least one block and a positive width");
        }

        if (OutputStride is not (8 or 16 or 32) && !(Stem == StemType.Cifar && OutputStride >= 1))
        {
            throw new InvalidOptionException("OutputStride", $"must be 8, 16 or 32 (got {OutputStride})");
        }

        if (CifarStemStride is not (1 or 2) || (CifarStemStride != 1 && Stem != StemType.Cifar))
        {
            throw new InvalidOptionException("CifarStemStride", $"must be 1, or 2 with the CIFAR-style stem (got {CifarStemStride})");
        }

        foreach (var (option, value, least) in new[] { ("Scale", Scale, 1), ("Cardinality", Cardinality, 1), ("BaseWidth", BaseWidth, 1), ("InChannels", InChannels, 1), ("StemWidth", StemWidth, 2) })
        {
            if (value < least)
            {
                throw new InvalidOptionException(option, $"must be at least {least} (got {value})");
            }
        }

        if (Widths.Any(w => w * BaseWidth / 64 < 1))
        {
            throw new InvalidOptionException("BaseWidth", $"{BaseWidth} gives groups of zero channels in the narrowest stage");
        }
    }
}
