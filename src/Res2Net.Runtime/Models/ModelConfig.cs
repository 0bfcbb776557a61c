namespace Res2Net.Models;

/// <summary>
/// What every architecture's configuration shares, and the rules each family answers for itself: how many stages it
/// has, which output strides and block styles it can be built with, which values are in range.
/// </summary>
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

    /// <summary>Total stride of the last stage: 32 for classification; 16 or 8 dilate the last stages for dense prediction.</summary>
    public int OutputStride { get; init; } = 32;

    /// <summary>Whose blocks the model follows where implementations differ (the official code's, mmdetection's, detectron2's).</summary>
    public BlockStyle Style { get; init; } = BlockStyle.Official;

    /// <summary>The number of stages, C2 first (four for the ImageNet models).</summary>
    public abstract int StageCount { get; }

    /// <summary>
    /// Checks the configuration (each family adds its own rules, output strides and styles among them);
    /// <see cref="InvalidOptionException"/> names the first property out of range.
    /// </summary>
    public virtual void Validate()
    {
        Check(NumClasses is >= 0 and <= Limits.MaxClasses, nameof(NumClasses), $"must be from 0 to {Limits.MaxClasses:N0} (got {NumClasses})");
        Check(InChannels is >= 1 and <= Limits.MaxInChannels, nameof(InChannels), $"must be from 1 to {Limits.MaxInChannels} (got {InChannels})");
        Check(Scale >= 1, nameof(Scale), $"must be at least 1 (got {Scale})");
        Check(Cardinality >= 1, nameof(Cardinality), $"must be at least 1 (got {Cardinality})");
        Check(Enum.IsDefined(Style), nameof(Style), $"must be Official, MMDetection or Detectron2 (got {(int)Style})");
    }

    /// <summary>
    /// This architecture with another class count, input channel count, output stride or block style, checked (see
    /// <see cref="Validate"/>) without building anything.
    /// </summary>
    /// <exception cref="InvalidOptionException">The family has no such form (for example a DLA model at output stride 8).</exception>
    public ModelConfig With(int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null)
    {
        var config = this with
        {
            NumClasses = numClasses ?? NumClasses,
            InChannels = inChannels ?? InChannels,
            OutputStride = outputStride ?? OutputStride,
            Style = style ?? Style,
        };
        config.Validate();
        return config;
    }

    /// <summary>Throws <see cref="InvalidOptionException"/> for <paramref name="option"/> unless <paramref name="ok"/>.</summary>
    protected static void Check(bool ok, string option, string problem)
    {
        if (!ok)
        {
            throw new InvalidOptionException(option, problem);
        }
    }
}
