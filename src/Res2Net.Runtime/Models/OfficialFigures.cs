namespace Res2Net.Models;

/// <summary>The official figures for a model: parameters, multiply-accumulates at 224x224, ImageNet-1k error (percent).</summary>
/// <param name="Params">Parameters.</param>
/// <param name="GMacs">Billions of multiply-accumulates per 224x224 image.</param>
/// <param name="Top1Error">Top-1 error on ImageNet-1k validation, percent.</param>
/// <param name="Top5Error">Top-5 error on ImageNet-1k validation, percent.</param>
public sealed record OfficialFigures(long? Params, double? GMacs, double? Top1Error, double? Top5Error);
