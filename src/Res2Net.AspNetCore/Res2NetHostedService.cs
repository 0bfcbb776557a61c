using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Res2Net.AspNetCore;

/// <summary>
/// Loads the classifier in the background when the host starts (the server listens at once; /readyz says 503 until
/// the model is warm) and turns readiness off when the host begins to stop, while requests in flight finish.
/// </summary>
internal sealed class Res2NetHostedService(Res2NetClassifier classifier, IServiceProvider services, IHostApplicationLifetime lifetime,
    ILogger<Res2NetHostedService> logger) : IHostedService
{
    private Thread? loader;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => classifier.Draining = true);
        loader = new Thread(() =>
        {
            try
            {
                classifier.Start(services);
                logger.LogInformation("Res2Net model {Model} ready on the {Engine} engine ({Precision}).", classifier.Metadata.Model, classifier.EngineName, classifier.Precision);
            }
            catch (Exception e)
            {
                logger.LogError("Res2Net model could not be loaded: {Message}", e.Message);
            }
        })
        { IsBackground = true, Name = "res2net-loader" };
        loader.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        classifier.Draining = true;
        return Task.CompletedTask;
    }
}
