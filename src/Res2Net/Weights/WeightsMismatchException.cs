namespace Res2Net.Weights;

/// <summary>A checkpoint that does not fit the model it is loaded into; the message lists what differs and which model it fits.</summary>
public sealed class WeightsMismatchException : Res2NetException
{
    /// <summary>An error with a one-sentence message.</summary>
    public WeightsMismatchException(string message)
        : base(message)
    {
    }
}
