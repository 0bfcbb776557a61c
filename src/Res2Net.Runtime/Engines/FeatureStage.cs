namespace Res2Net.Engines;

/// <summary>Which activation an engine returns as features.</summary>
public enum FeatureStage
{
    /// <summary>The globally averaged last stage, (N, C): the embedding before the classifier.</summary>
    Pooled,

    /// <summary>The first stage's output (stride 4 in the ImageNet models).</summary>
    C2,

    /// <summary>The second stage's output (stride 8).</summary>
    C3,

    /// <summary>The third stage's output (stride 16, or 8 when dilated).</summary>
    C4,

    /// <summary>The fourth stage's output (stride 32, or 16 or 8 when dilated).</summary>
    C5,
}
