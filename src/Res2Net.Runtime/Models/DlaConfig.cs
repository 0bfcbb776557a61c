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

    /// <summary>Four trees, level2..level5 (C2..C5).</summary>
    public override int StageCount => 4;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Check(Levels.Count == 6 && Channels.Count == 6, nameof(Levels), $"and Channels must name six levels, level0..level5 (got {Levels.Count} and {Channels.Count})");
        Check(Levels.All(n => n >= 1) && Channels.All(c => c >= 1), nameof(Levels), "and Channels must give every level at least one convolution and a positive width");
        Check(BaseWidth >= 1, nameof(BaseWidth), $"must be at least 1 (got {BaseWidth})");
        Check(Enum.IsDefined(Block), nameof(Block), $"must be Res2Net or Res2NeXt (got {(int)Block})");
        Check(OutputStride == 32, nameof(OutputStride), $"must be 32 for a DLA model, which has no dilated form (got {OutputStride})");
        Check(Style == BlockStyle.Official, nameof(Style), $"must be Official for a DLA model, which has no mmdetection or detectron2 form (got {Style})");
    }
}
