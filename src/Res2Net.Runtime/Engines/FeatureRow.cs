namespace Res2Net.Engines;

/// <summary>One input row's features: the pooled embedding as (C), stage maps as (C, H, W), per requested stage.</summary>
public sealed record FeatureRow
{
    /// <summary>The features per stage, in the order they were asked for.</summary>
    public FeatureRow(IReadOnlyList<FeatureStage> stages, IReadOnlyList<FloatTensor> values)
    {
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(values);
        if (stages.Count != values.Count || stages.Count == 0)
        {
            throw new ArgumentException("A feature row has one value per stage, and at least one.", nameof(values));
        }

        Stages = Array.AsReadOnly(stages.ToArray());
        Values = Array.AsReadOnly(values.ToArray());
    }

    /// <summary>The stages, in the order they were asked for.</summary>
    public IReadOnlyList<FeatureStage> Stages { get; }

    /// <summary>One tensor per stage, in the same order.</summary>
    public IReadOnlyList<FloatTensor> Values { get; }

    /// <summary>The features of one stage.</summary>
    public FloatTensor this[FeatureStage stage]
    {
        get
        {
            var i = Stages.ToList().IndexOf(stage);
            return i >= 0 ? Values[i] : throw new KeyNotFoundException($"The row holds no {stage} features (it has {string.Join(", ", Stages)}).");
        }
    }
}
