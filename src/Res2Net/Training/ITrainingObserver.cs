namespace Res2Net.Training;

/// <summary>What a user interface hears from the trainer; every member does nothing unless implemented.</summary>
public interface ITrainingObserver
{
    /// <summary>An epoch begins (at <paramref name="firstStep"/> when resumed inside it).</summary>
    void EpochStarted(int epoch, int epochs, int steps, int firstStep)
    {
    }

    /// <summary>A step is done.</summary>
    void Step(StepProgress progress)
    {
    }

    /// <summary>The test split of an epoch is being evaluated.</summary>
    void Evaluating(int epoch)
    {
    }

    /// <summary>An epoch is evaluated and its files written; <paramref name="best"/> if it is the best so far.</summary>
    void EpochEnded(EpochMetrics metrics, bool best)
    {
    }

    /// <summary>A line for the user (what is trained on, where a stop saved).</summary>
    void Info(string message)
    {
    }
}
