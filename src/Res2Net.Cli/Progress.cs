using Spectre.Console;

namespace Res2Net.Cli;

/// <summary>
/// A progress bar on stderr (stdout stays clean for tables and JSON), drawn only when stderr is a terminal; elsewhere
/// every call is a no-op. Spectre draws from its own loop, so the bar lives on a thread of its own until disposed.
/// </summary>
internal sealed class Progress : IDisposable
{
    private readonly ManualResetEventSlim ready = new(false);
    private readonly ManualResetEventSlim finished = new(false);
    private readonly Thread? thread;
    private ProgressTask? task;

    private Progress(string description, double total, bool transfer, bool enabled)
    {
        if (!enabled || !StdErr.IsTerminal)
        {
            return;
        }

        ProgressColumn[] columns = transfer
            ? [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn()]
            : [new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn()];
        thread = new Thread(() => StdErr.Console.Progress().AutoClear(false).HideCompleted(false).Columns(columns).Start(ctx =>
        {
            task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
            ready.Set();
            finished.Wait();
            ctx.Refresh();
        }))
        { IsBackground = true };
        thread.Start();
        ready.Wait();
    }

    /// <summary>A bar for <paramref name="total"/> units, shown when stderr is a terminal and <paramref name="show"/> is true.</summary>
    public static Progress Start(string description, double total, bool show = true) => new(description, total, transfer: false, show);

    /// <summary>A download bar (bytes, speed).</summary>
    public static Progress Download(string description) => new(description, 1, transfer: true, enabled: true);

    /// <summary>Sets how far it is.</summary>
    public void Report(double value, double? total = null)
    {
        if (task is null)
        {
            return;
        }

        if (total is { } t)
        {
            task.MaxValue = Math.Max(t, 1);
        }

        task.Value = value;
    }

    /// <summary>Replaces the text before the bar.</summary>
    public void Describe(string description)
    {
        if (task is not null)
        {
            task.Description = Markup.Escape(description);
        }
    }

    public void Dispose()
    {
        if (thread is null || finished.IsSet)
        {
            return;
        }

        finished.Set();
        thread.Join();
    }
}
