using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Res2Net.AspNetCore;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Tests.Serve;

/// <summary>Weights of a small registered model with class names (random, but a real checkpoint), shared by the service tests.</summary>
public sealed class SmallWeights : IDisposable
{
    private readonly TempDir dir = new();

    public SmallWeights()
    {
        Path = dir.File("res2net_small.pth");
        TorchSharp.torch.manual_seed(21);
        using var model = ModelRegistry.Create("res2net_small");
        Models.BatchNormStatistics.Randomise(model);
        model.ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
        ModelWeights.Save(model, Path);
    }

    public string Path { get; }

    public static string Photo(string name) => System.IO.Path.Combine(TestPaths.Fixtures, "images", name);

    public void Dispose() => dir.Dispose();
}

/// <summary>An ASP.NET Core app on 127.0.0.1 (a free port) with AddRes2Net and MapRes2Net, as a user would write it.</summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private ServiceHost(WebApplication app, Uri address, Uri? grpc)
    {
        this.app = app;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        Grpc = grpc;
    }

    public HttpClient Client { get; }

    public Res2NetClassifier Classifier => app.Services.GetRequiredService<Res2NetClassifier>();

    /// <summary>The name the tests serve their model under.</summary>
    public const string Model = "res2net_small";

    public IServiceProvider Services() => app.Services;

    public Uri Address => Client.BaseAddress!;

    /// <summary>The gRPC endpoint (HTTP/2 without TLS), when asked for.</summary>
    public Uri? Grpc { get; }

    /// <summary>Starts the app with one model (named <see cref="Model"/>) and waits until it is ready.</summary>
    public static Task<ServiceHost> StartAsync(Action<Res2NetModelOptions> model, Action<Res2NetServiceOptions>? service = null, bool waitReady = true,
        bool grpc = false) =>
        StartModelsAsync(b => b.AddModel(Model, model), service, waitReady, grpc);

    /// <summary>Starts the app with the models <paramref name="add"/> adds (and a gRPC port when asked), and waits until they are ready.</summary>
    public static async Task<ServiceHost> StartModelsAsync(Action<Res2NetBuilder> add, Action<Res2NetServiceOptions>? service = null, bool waitReady = true,
        bool grpc = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(System.Net.IPAddress.Loopback, 0);
            if (grpc)
            {
                kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
            }
        });
        add(builder.Services.AddRes2Net(service));
        var app = builder.Build();
        app.MapRes2Net();
        app.MapRes2NetGrpc();
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        var host = new ServiceHost(app, addresses[0], grpc ? addresses[1] : null);
        if (waitReady)
        {
            foreach (var classifier in app.Services.GetRequiredService<Res2NetModels>())
            {
                await classifier.Ready.WaitAsync(TimeSpan.FromSeconds(60));
            }
        }

        return host;
    }

    /// <summary>The weights on an engine, with Grad-CAM from the same file.</summary>
    public static Task<ServiceHost> StartAsync(string weights, EngineKind engine, Action<Res2NetServiceOptions>? service = null) => StartAsync(o =>
    {
        o.Source = weights;
        o.Engine = engine;
        o.GradCam = true;
    }, service);

    /// <summary>A model opened by the test itself (a gated engine, say).</summary>
    public static Task<ServiceHost> StartAsync(Func<Predictor> open, Action<Res2NetModelOptions>? more = null, bool waitReady = true, bool grpc = false) => StartAsync(o =>
    {
        o.Open = _ => Task.FromResult(open());
        more?.Invoke(o);
    }, null, waitReady, grpc);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>An engine that runs another but holds every batch until released: makes queues and batches observable.</summary>
internal sealed class GatedEngine(IInferenceEngine inner) : IInferenceEngine
{
    private readonly SemaphoreSlim gate = new(0);

    public int Batches { get; private set; }

    public List<int> BatchSizes { get; } = [];

    public EngineKind Kind => inner.Kind;

    public Precision Precision => inner.Precision;

    public ModelMetadata Metadata => inner.Metadata;

    public IReadOnlyList<FeatureStage> FeatureStages => inner.FeatureStages;

    /// <summary>Lets <paramref name="count"/> more batches run.</summary>
    public void Release(int count = 1) => gate.Release(count);

    /// <summary>Lets everything run from now on.</summary>
    public void Open() => gate.Release(10_000);

    public FloatTensor Logits(FloatTensor batch, CancellationToken cancellationToken = default)
    {
        Hold(batch);
        return inner.Logits(batch, cancellationToken);
    }

    public IReadOnlyList<FloatTensor> Features(FloatTensor batch, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        Hold(batch);
        return inner.Features(batch, stages, cancellationToken);
    }

    public IReadOnlyList<FloatTensor> Outputs(FloatTensor batch, bool logits, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        Hold(batch);
        return inner.Outputs(batch, logits, stages, cancellationToken);
    }

    public void Dispose()
    {
        gate.Dispose();
        inner.Dispose();
    }

    private void Hold(FloatTensor batch)
    {
        // The warm-up passes (before the service is ready) run at once.
        if (Batches++ >= 2)
        {
            lock (BatchSizes)
            {
                BatchSizes.Add((int)batch.Shape[0]);
            }

            gate.Wait(TimeSpan.FromSeconds(30));
        }
    }
}
