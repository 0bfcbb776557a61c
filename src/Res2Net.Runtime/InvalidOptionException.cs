namespace Res2Net;

/// <summary>
/// A library option or argument with a value the library cannot use. <see cref="Option"/> names it as the library
/// spells it (for example <c>BatchSize</c>), so that a front end can name its own spelling instead (a command-line flag,
/// a query parameter); the message is "<c>Option Problem</c>".
/// </summary>
public sealed class InvalidOptionException : Res2NetException
{
    /// <summary>An error about <paramref name="option"/>; <paramref name="problem"/> continues the sentence ("must be at least 1").</summary>
    public InvalidOptionException(string option, string problem)
        : base($"{option} {problem}".TrimEnd('.') + ".")
    {
        Option = option;
        Problem = problem.TrimEnd('.');
    }

    /// <summary>The option's name in the library (a property or parameter name).</summary>
    public string Option { get; }

    /// <summary>What is wrong, as the rest of the sentence after the option's name, without the final period.</summary>
    public string Problem { get; }
}
