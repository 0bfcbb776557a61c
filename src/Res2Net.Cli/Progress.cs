using Spectre.Console;

namespace Res2Net.Cli;

/// <summary>A progress bar on stderr for long runs: only when there is more than one batch and stderr is a terminal.</summary>
internal static class Progress
{
    public static IEnumerable<T> Track<T>(IEnumerable<T> items, int total, int batchSize, string what)
    {
        if (total <= batchSize || !StdErr.IsTerminal)
        {
            foreach (var item in items)
            {
                yield return item;
            }

            yield break;
        }

        // Spectre's live progress runs its render loop on another thread; results are handed over one by one.
        var buffer = new System.Collections.Concurrent.BlockingCollection<T>(boundedCapacity: batchSize * 2);
        var worker = Task.Run(() => StdErr.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(what, maxValue: total);
                try
                {
                    foreach (var item in items)
                    {
                        buffer.Add(item);
                        task.Increment(1);
                    }
                }
                finally
                {
                    buffer.CompleteAdding();
                }
            }));
        foreach (var item in buffer.GetConsumingEnumerable())
        {
            yield return item;
        }

        worker.GetAwaiter().GetResult();
    }
}
