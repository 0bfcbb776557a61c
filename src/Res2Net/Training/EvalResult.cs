namespace Res2Net.Training;

/// <summary>Loss and accuracy of a model on a dataset (accuracies in percent).</summary>
public sealed record EvalResult(double Top1, double Top5, double Loss, int Images);
