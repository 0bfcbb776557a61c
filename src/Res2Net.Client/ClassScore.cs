namespace Res2Net.Client;

/// <summary>One entry of a classification: a class, its name where the server knows one, and its score.</summary>
/// <param name="Index">The class index within the model's output.</param>
/// <param name="Label">The class name, or null when the server has no label for it.</param>
/// <param name="Score">The output's value for the class, as the server wrote it (a logit or a probability, as the model gives it).</param>
public sealed record ClassScore(int Index, string? Label, double Score);
