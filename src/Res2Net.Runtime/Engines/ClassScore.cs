namespace Res2Net.Engines;

/// <summary>One class of a prediction.</summary>
/// <param name="Class">The class index.</param>
/// <param name="Label">Its name (the index as text when the names are unknown).</param>
/// <param name="Prob">Its probability (softmax of the logits).</param>
public sealed record ClassScore(int Class, string Label, float Prob);
