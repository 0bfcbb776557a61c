namespace Res2Net.Engines;

/// <summary>A classification: the top classes with their probabilities, best first.</summary>
public sealed record Prediction
{
    private readonly IReadOnlyList<ClassScore> top = [];

    /// <summary>A prediction of at least one class (copied).</summary>
    public Prediction(IReadOnlyList<ClassScore> top)
    {
        ArgumentNullException.ThrowIfNull(top);
        if (top.Count == 0)
        {
            throw new ArgumentException("A prediction has at least one class.", nameof(top));
        }

        Top = top;
    }

    /// <summary>The classes, most probable first.</summary>
    public IReadOnlyList<ClassScore> Top
    {
        get => top;
        init => top = Array.AsReadOnly(value.ToArray());
    }

    /// <summary>The most probable class.</summary>
    public ClassScore Best => Top[0];
}
