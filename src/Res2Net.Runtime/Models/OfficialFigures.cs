namespace Res2Net.Models;

/// <summary>The official figures of an architecture: parameters and multiply-accumulates at 224x224.</summary>
/// <param name="Params">Parameters.</param>
/// <param name="GMacs">Billions of multiply-accumulates per 224x224 image.</param>
public sealed record OfficialFigures(long? Params, double? GMacs);
