namespace Res2Net.Models;

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
}
