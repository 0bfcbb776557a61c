using Res2Net.Models;

namespace Res2Net.Training;

/// <summary>How a run ended.</summary>
/// <param name="Epochs">The metrics of every completed epoch.</param>
/// <param name="BestEpoch">The epoch with the best test top-1 (0: none yet).</param>
/// <param name="BestTop1">Its test top-1, percent.</param>
/// <param name="Cancelled">Whether the run stopped early; its state was saved for a resume.</param>
/// <param name="Seconds">Training time of the whole run, resumed parts included.</param>
/// <param name="Metadata">What the trained weights are for (classes, channels, the transform photos need).</param>
public sealed record TrainResult(IReadOnlyList<EpochMetrics> Epochs, int BestEpoch, double BestTop1, bool Cancelled, double Seconds, ModelMetadata Metadata);
