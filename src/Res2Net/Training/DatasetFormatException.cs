namespace Res2Net.Training;

/// <summary>A dataset folder or file that is not what its format promises (bad magic, counts, lengths, labels), named with what is wrong.</summary>
public sealed class DatasetFormatException : Res2NetException
{
    /// <summary>An error with a one-sentence message.</summary>
    public DatasetFormatException(string message)
        : base(message)
    {
    }
}
