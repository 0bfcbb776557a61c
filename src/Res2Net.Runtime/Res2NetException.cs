namespace Res2Net;

/// <summary>
/// The base of every error the Res2Net libraries raise for input they refuse: a file that cannot be read, an option
/// out of range, a model name that is not registered. The message is one sentence that names the input (a file, a
/// parameter of the library) and what is wrong with it, fit to show to a user as it is.
/// </summary>
public class Res2NetException : Exception
{
    /// <summary>An error with a one-sentence message.</summary>
    public Res2NetException(string message)
        : base(message)
    {
    }

    /// <summary>An error with a one-sentence message and the exception that caused it.</summary>
    public Res2NetException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
