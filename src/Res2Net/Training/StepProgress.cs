namespace Res2Net.Training;

/// <summary>Running figures of the epoch in progress, for a progress bar.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Step">Steps done in the epoch.</param>
/// <param name="Steps">Steps in the epoch.</param>
/// <param name="Loss">Mean training loss so far in the epoch.</param>
/// <param name="Top1">Training top-1 so far in the epoch, percent.</param>
/// <param name="ImagesPerSecond">Training speed of this run in the epoch.</param>
/// <param name="Lr">The learning rate of the last step.</param>
public readonly record struct StepProgress(int Epoch, int Step, int Steps, double Loss, double Top1, double ImagesPerSecond, double Lr);
