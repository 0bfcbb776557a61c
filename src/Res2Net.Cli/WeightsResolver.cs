using Res2Net.Caching;
using Res2Net.Models;

namespace Res2Net.Cli;

/// <summary>Finds the weights file for a command: the user's --weights, else the model's published file through the cache.</summary>
internal static class WeightsResolver
{
    public static async Task<string> ResolveAsync(ModelInfo model, string? weights, CancellationToken cancellationToken)
    {
        if (weights is not null)
        {
            return weights;
        }

        using var cache = new WeightsCache();
        if (model.Weights is null || cache.IsCached(model.Weights))
        {
            return await cache.ResolveAsync(model, null, null, cancellationToken).ConfigureAwait(false);
        }

        Console.Error.WriteLine($"downloading {model.Weights.FileName} into {cache.CacheDirectory}");
        using var bar = Progress.Download(model.Weights.FileName);
        var progress = new Progress<DownloadProgress>(p => bar.Report(p.BytesReceived, p.TotalBytes));
        return await cache.ResolveAsync(model, null, progress, cancellationToken).ConfigureAwait(false);
    }
}
