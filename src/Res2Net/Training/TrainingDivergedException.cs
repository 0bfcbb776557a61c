namespace Res2Net.Training;

/// <summary>The loss stopped being a number; nothing of the diverged epoch was saved (the last checkpoint is kept).</summary>
public sealed class TrainingDivergedException : Res2NetException
{
    /// <summary>An error with a one-sentence message.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }
}
