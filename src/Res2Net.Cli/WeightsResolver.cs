using Res2Net.Models;
using Res2Net.Weights;
using Spectre.Console;

namespace Res2Net.Cli;

/// <summary>Finds the weights file for a command: the user's --weights, else the model's published file through the cache.</summary>
internal static class WeightsResolver
{
    public static string Resolve(ModelInfo model, string? weights)
    {
        if (weights is not null)
        {
            return weights;
        }

        using var cache = new WeightsCache();
        if (model.Weights is null || cache.IsCached(model.Weights) || !StdErr.IsTerminal)
        {
            if (model.Weights is not null && !cache.IsCached(model.Weights))
            {
                Console.Error.WriteLine($"downloading {model.Weights.FileName} into {cache.CacheDirectory}");
            }

            return cache.ResolveAsync(model, null).GetAwaiter().GetResult();
        }

        string path = string.Empty;
        StdErr.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(model.Weights.FileName), maxValue: 1);
                var progress = new Progress<DownloadProgress>(p =>
                {
                    if (p.TotalBytes is { } total)
                    {
                        task.MaxValue = total;
                    }

                    task.Value = p.BytesReceived;
                });
                path = cache.ResolveAsync(model, null, progress).GetAwaiter().GetResult();
                task.Value = task.MaxValue;
            });
        return path;
    }
}
