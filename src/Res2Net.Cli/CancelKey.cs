namespace Res2Net.Cli;

/// <summary>Ctrl-C cancels the running batch loop cleanly instead of killing the process mid-write.</summary>
internal static class CancelKey
{
    private static readonly CancellationTokenSource Source = Create();

    public static CancellationToken Token => Source.Token;

    private static CancellationTokenSource Create()
    {
        var source = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (!source.IsCancellationRequested)
            {
                e.Cancel = true;
                source.Cancel();
            }
        };
        return source;
    }
}
