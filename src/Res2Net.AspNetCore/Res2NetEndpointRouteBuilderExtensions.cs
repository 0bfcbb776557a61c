using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Res2Net.AspNetCore;

/// <summary>Maps Res2Net's HTTP endpoints.</summary>
public static class Res2NetEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps, under <paramref name="prefix"/>: <c>POST v1/classify?topk=5</c>, <c>POST v1/embed</c>,
    /// <c>POST v1/cam?class=K</c> (the photo as the body or as multipart field <c>image</c>; <c>&amp;model=NAME</c>
    /// picks a model other than the default), <c>GET v1/models</c>, <c>GET healthz</c>, <c>GET readyz</c>,
    /// <c>GET metrics</c> (Prometheus), the demo page at the root, and the Open Inference Protocol's REST API:
    /// <c>GET v2</c>, <c>GET v2/health/live</c>, <c>GET v2/health/ready</c>, <c>GET v2/models/NAME[/versions/V]</c>,
    /// <c>GET .../ready</c> and <c>POST .../infer</c> (JSON or Triton's binary tensor extension, and its classification
    /// extension). Errors answer <c>{"error": "one sentence"}</c>
    /// with their status code. Needs <see cref="Res2NetServiceCollectionExtensions.AddRes2Net(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{Res2NetServiceOptions}?)"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="prefix">Where to map them ("" for the root).</param>
    public static RouteGroupBuilder MapRes2Net(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var models = endpoints.ServiceProvider.GetRequiredService<Res2NetModels>();
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Res2Net.AspNetCore");
        var group = endpoints.MapGroup(prefix);
        var handlers = new ServiceHandlers(models, logger);
        group.MapPost("/v1/classify", handlers.Wrap("classify", handlers.ClassifyAsync));
        group.MapPost("/v1/embed", handlers.Wrap("embed", handlers.EmbedAsync));
        group.MapPost("/v1/cam", handlers.Wrap("cam", handlers.CamAsync));
        group.MapGet("/v1/models", handlers.Wrap("models", handlers.Models));
        group.MapGet("/healthz", handlers.Wrap("healthz", _ => Task.FromResult(Results.Json(new { status = "alive" }))));
        group.MapGet("/readyz", handlers.Wrap("readyz", handlers.Ready));
        group.MapMetrics("/metrics", models.Metrics.Registry);

        // The Open Inference Protocol (KServe v2), as Triton speaks it.
        group.MapGet("/v2", handlers.Wrap("v2_server_metadata", handlers.ServerMetadata));
        group.MapGet("/v2/health/live", handlers.Wrap("v2_live", handlers.ServerLive));
        group.MapGet("/v2/health/ready", handlers.Wrap("v2_ready", handlers.ServerReady));
        foreach (var model in new[] { "/v2/models/{model}", "/v2/models/{model}/versions/{version}" })
        {
            group.MapGet(model, handlers.Wrap("v2_model_metadata", handlers.ModelMetadata));
            group.MapGet(model + "/ready", handlers.Wrap("v2_model_ready", handlers.ModelReady));
            group.MapPost(model + "/infer", handlers.Wrap("v2_infer", handlers.InferAsync));
        }
        if (models.Service.DemoPage)
        {
            group.MapGet("/", handlers.Wrap("demo", handlers.Demo));
        }

        return group;
    }

    /// <summary>
    /// Maps the Open Inference Protocol's gRPC service, <c>inference.GRPCInferenceService</c> (ServerLive, ServerReady,
    /// ModelReady, ServerMetadata, ModelMetadata, ModelInfer), over the same models, queues and limits as
    /// <see cref="MapRes2Net"/>. gRPC needs HTTP/2: give it an endpoint of its own that speaks HTTP/2 only (Kestrel's
    /// <c>HttpProtocols.Http2</c>), as <c>res2net serve --grpc-port</c> does. Messages are bounded by
    /// <see cref="Res2NetServiceOptions.MaxBodyBytes"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    public static IEndpointConventionBuilder MapRes2NetGrpc(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _ = endpoints.ServiceProvider.GetRequiredService<Res2NetModels>();
        return endpoints.MapGrpcService<Protocol.GrpcInferenceEndpoint>();
    }
}
