using System.CommandLine;

namespace Res2Net.Cli;

/// <summary>Runs a command body and turns failures into one line on stderr and an exit code.</summary>
internal static class Run
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;

    public static int Guarded(ParseResult parse, Func<int> body) =>
        GuardedAsync(parse, _ => Task.FromResult(body())).GetAwaiter().GetResult();

    /// <summary>
    /// Runs <paramref name="body"/> with the token Ctrl-C and SIGTERM cancel. A library error prints its one sentence
    /// (translated to the tool's flags); a cancellation exits 130; anything else is a bug and says so.
    /// </summary>
    public static async Task<int> GuardedAsync(ParseResult parse, Func<CancellationToken, Task<int>> body)
    {
        try
        {
            return await body(CancelKey.Token).ConfigureAwait(false);
        }
        catch (Res2NetException e)
        {
            Error(parse, Errors.Describe(e), e);
            return Errors.ExitCode(e);
        }
        catch (OperationCanceledException) when (CancelKey.Token.IsCancellationRequested)
        {
            Console.Error.WriteLine("res2net: interrupted");
            return Interrupted;
        }
        catch (IOException e)
        {
            Error(parse, e.Message, e);
            return Failed;
        }
        catch (Exception e)
        {
            Error(parse, $"unexpected failure ({e.GetType().Name}): {e.Message}", e);
            return Failed;
        }
    }

    public static void Error(ParseResult parse, string message, Exception? e = null)
    {
        StdErr.Line($"res2net: error: {message}");
        if (e is not null && parse.GetValue(Options.Verbose))
        {
            Console.Error.WriteLine(e);
        }
    }
}
