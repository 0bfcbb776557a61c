using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Res2Net.Engines;

namespace Res2Net.AspNetCore;

/// <summary>
/// Loads every model in the background when the host starts (the server listens at once; /readyz says 503 until all
/// are warm) and turns readiness off when the host begins to stop, while requests in flight finish.
/// </summary>
internal sealed class Res2NetHostedService(Res2NetModels models, IHostApplicationLifetime lifetime, ILogger<Res2NetHostedService> logger) : IHostedService
{
    private readonly CancellationTokenSource stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(models.Drain);
        foreach (var classifier in models)
        {
            // In the background: loading downloads, reads and exports files and warms the engine up.
            _ = Task.Run(async () =>
            {
                try
                {
                    await classifier.StartAsync(stopping.Token).ConfigureAwait(false);
                    logger.LogInformation("Res2Net model {Name} ({Model}) ready on the {Engine} engine ({Precision}).", classifier.Name, classifier.Metadata.Model,
                        classifier.EngineKind.Name(), classifier.Precision.Name());
                }
                catch (Exception e)
                {
                    logger.LogError("Res2Net model {Name} could not be loaded: {Message}", classifier.Name, e.Message);
                }
            }, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        models.Drain();
        stopping.Cancel();
        return Task.CompletedTask;
    }
}
