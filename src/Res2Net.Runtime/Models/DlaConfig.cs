namespace Res2Net.Models;

/// <summary>Deep Layer Aggregation (Yu et al.) built from Res2Net or Res2NeXt blocks, as the official dla.py.</summary>
public sealed record DlaConfig : ModelConfig
{
    /// <summary>Convolutions of level0 and level1, then the tree depth of level2..level5.</summary>
    public IReadOnlyList<int> Levels { get; init; } = [1, 1, 1, 2, 3, 1];

    /// <summary>Output channels of level0..level5.</summary>
    public IReadOnlyList<int> Channels { get; init; } = [16, 32, 128, 256, 512, 1024];

    /// <summary>The block the trees are built from.</summary>
    public DlaBlock Block { get; init; } = DlaBlock.Res2Net;

    /// <summary>Width of one group per 128 planes, used by the Res2Net block only.</summary>
    public int BaseWidth { get; init; } = 28;
}
