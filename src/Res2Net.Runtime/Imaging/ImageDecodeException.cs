namespace Res2Net.Imaging;

/// <summary>
/// A file that cannot be decoded as an image: not an image format this library reads, or damaged or truncated.
/// The message is one sentence that names the file and what is wrong with it.
/// </summary>
public sealed class ImageDecodeException : Res2NetException
{
    /// <summary>An error with a one-sentence message.</summary>
    public ImageDecodeException(string message)
        : base(message)
    {
    }

    /// <summary>An error with a one-sentence message and its cause.</summary>
    public ImageDecodeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Builds "<c>name: what.</c>" from the path or name and a clause.</summary>
    internal static ImageDecodeException For(string name, string what, Exception? inner = null)
    {
        // The path as the user gave it: with folders recursed, a bare file name could be ambiguous.
        string message = $"{name}: {what}";
        if (!message.EndsWith('.'))
        {
            message += ".";
        }

        return inner is null ? new ImageDecodeException(message) : new ImageDecodeException(message, inner);
    }
}
