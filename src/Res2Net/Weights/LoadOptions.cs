namespace Res2Net.Weights;

/// <summary>How a state dict is matched to a model.</summary>
internal sealed record LoadOptions
{
    /// <summary>The default: strict, as PyTorch's <c>load_state_dict(strict=True)</c>.</summary>
    public static LoadOptions Default { get; } = new();

    /// <summary>Every model key must be in the checkpoint with the same shape, and nothing else (PyTorch's strict=True).</summary>
    public bool Strict { get; init; } = true;

    /// <summary>Leave the classifier freshly initialised when its shape differs (fine-tuning to another class count).</summary>
    public bool SkipMismatchedClassifier { get; init; }
}
