using Res2Net.Engines;

namespace Res2Net.Models;

/// <summary>How <see cref="Res2NetBackbone.CreateAsync"/> builds a model.</summary>
public sealed record BackboneOptions
{
    /// <summary>
    /// Classifier outputs; null: the weights' (or the architecture's). Another count than the weights' keeps the rest
    /// and gives a freshly initialised classifier; 0 builds the backbone without one.
    /// </summary>
    public int? NumClasses { get; init; }

    /// <summary>Input channels; null: the weights'. One channel from RGB weights sums the stem's filters over colour.</summary>
    public int? InChannels { get; init; }

    /// <summary>8, 16 or 32 (ImageNet ResNet-style models); null: what the weights record.</summary>
    public int? OutputStride { get; init; }

    /// <summary>Whose form of the block to build; null: the one the checkpoint's key layout says it was trained with.</summary>
    public BlockStyle? BlockStyle { get; init; }

    /// <summary>The seed of every freshly initialised weight (a private generator); null: LibTorch's global generator.</summary>
    public int? Seed { get; init; }

    /// <summary>Where published weights are kept and downloaded from.</summary>
    public ModelCacheOptions Cache { get; init; } = new();

    /// <summary>Checks the values; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        if (NumClasses is < 0 or > Limits.MaxClasses)
        {
            throw new InvalidOptionException(nameof(NumClasses), $"must be from 0 to {Limits.MaxClasses:N0} (got {NumClasses})");
        }

        if (InChannels is < 1 or > Limits.MaxInChannels)
        {
            throw new InvalidOptionException(nameof(InChannels), $"must be from 1 to {Limits.MaxInChannels} (got {InChannels})");
        }

        Cache.Validate();
    }
}
