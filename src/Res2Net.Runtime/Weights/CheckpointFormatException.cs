namespace Res2Net.Weights;

/// <summary>
/// A checkpoint, safetensors or .npy file that cannot be read or is refused. The message is one
/// sentence that names the file and what is wrong with it.
/// </summary>
public sealed class CheckpointFormatException : Res2NetException
{
    /// <summary>An error with a one-sentence message.</summary>
    public CheckpointFormatException(string message)
        : base(message)
    {
    }

    /// <summary>An error with a one-sentence message and its cause.</summary>
    public CheckpointFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Builds "<c>name: what.</c>" from the path and a clause.</summary>
    internal static CheckpointFormatException For(string path, string what, Exception? inner = null)
    {
        string message = $"{Path.GetFileName(path)}: {what}";
        if (!message.EndsWith('.'))
        {
            message += ".";
        }

        return inner is null ? new CheckpointFormatException(message) : new CheckpointFormatException(message, inner);
    }

    /// <summary>Numbers in messages use thousands separators, e.g. 3,456.</summary>
    internal static string N(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
