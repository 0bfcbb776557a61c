using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Res2Net.AspNetCore.Protocol;

namespace Res2Net.AspNetCore;

/// <summary>The Open Inference Protocol's REST endpoints (<c>/v2</c>), with Triton's binary tensor and classification extensions.</summary>
internal sealed partial class ServiceHandlers
{
    /// <summary>The header that says how much of an infer body is JSON (Triton's binary tensor extension).</summary>
    public const string HeaderLength = "Inference-Header-Content-Length";

    /// <summary>The server's name on the protocol.</summary>
    public const string ServerName = "res2net";

    /// <summary>The protocol extensions this server implements.</summary>
    public static readonly string[] Extensions = ["binary_tensor_data", "classification"];

    /// <summary>This server's version: the package's.</summary>
    public static string ServerVersion { get; } = (typeof(ServiceHandlers).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "0").Split('+')[0];

    public Task<IResult> ServerMetadata(HttpContext context) =>
        Task.FromResult(Results.Json(new { name = ServerName, version = ServerVersion, extensions = Extensions }));

    public Task<IResult> ServerLive(HttpContext context) => Task.FromResult(Results.Json(new { live = true }));

    public Task<IResult> ServerReady(HttpContext context)
    {
        if (models.IsReady)
        {
            return Task.FromResult(Results.Json(new { ready = true }));
        }

        context.Response.Headers.RetryAfter = "2";
        return Task.FromResult(Json(StatusCodes.Status503ServiceUnavailable, NotReadyReason()));
    }

    public Task<IResult> ModelReady(HttpContext context)
    {
        var model = ProtocolTarget(context);
        if (model.IsReady)
        {
            return Task.FromResult(Results.Json(new { name = model.Name, ready = true }));
        }

        context.Response.Headers.RetryAfter = "2";
        return Task.FromResult(Json(StatusCodes.Status503ServiceUnavailable, model.Ready.IsFaulted
            ? $"The model {model.Name} could not be loaded: {model.Ready.Exception!.InnerException!.Message}"
            : $"The model {model.Name} is {(model.Draining ? "stopping" : "still loading")}."));
    }

    public Task<IResult> ModelMetadata(HttpContext context)
    {
        var description = ProtocolTarget(context).Protocol;
        return Task.FromResult(Results.Json(new
        {
            name = description.Name,
            versions = new[] { description.Version },
            platform = description.Platform,
            inputs = description.Inputs.Select(Tensor),
            outputs = description.Outputs.Select(Tensor),
            properties = description.Properties,
            // The issue's readers look for "parameters" (as in Triton's model configuration); the specification names the field "properties".
            parameters = description.Properties,
        }));

        static object Tensor(TensorSpec t) => new { name = t.Name, datatype = t.Datatype, shape = t.Shape };
    }

    public async Task<IResult> InferAsync(HttpContext context)
    {
        var model = ProtocolTarget(context);
        var description = model.Protocol;
        long? headerLength = null;
        if (context.Request.Headers.TryGetValue(HeaderLength, out var header))
        {
            headerLength = long.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : throw ProtocolException.Bad($"{HeaderLength} must be a whole number of bytes (got '{header}').");
        }

        var body = await ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var request = RestCodec.ReadInfer(body, headerLength);
        models.Metrics.CodecSeconds.WithLabels("read", "rest", model.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        var outputs = await InferenceRunner.RunAsync(model, description, request, context.RequestAborted).ConfigureAwait(false);
        started = Stopwatch.GetTimestamp();
        var answer = new ArrayBufferWriter<byte>();
        var json = RestCodec.WriteInfer(answer, description.Name, description.Version, request.Id, outputs);
        models.Metrics.CodecSeconds.WithLabels("write", "rest", model.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (json is { } length)
        {
            context.Response.Headers[HeaderLength] = length.ToString(CultureInfo.InvariantCulture);
            return Results.Bytes(answer.WrittenMemory, "application/octet-stream");
        }

        return Results.Bytes(answer.WrittenMemory, "application/json");
    }

    /// <summary>The model and version a <c>/v2/models/{model}[/versions/{version}]</c> route names.</summary>
    /// <exception cref="UnknownServedModelException">No model has that name.</exception>
    /// <exception cref="ProtocolException">The model has no such version.</exception>
    private Res2NetClassifier ProtocolTarget(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["model"]!;
        var classifier = models[name];
        context.Items[ModelKey] = classifier.Name;
        if (context.Request.RouteValues.TryGetValue("version", out var version) && version is string v && v.Length > 0 && v != classifier.Options.Version)
        {
            throw new ProtocolException(ProtocolError.NotFound, $"Model '{name}' has no version '{v}' (it serves version {classifier.Options.Version}).");
        }

        return classifier;
    }

    private string NotReadyReason()
    {
        var failed = models.FirstOrDefault(c => c.Ready.IsFaulted);
        return models.Any(c => c.Draining) ? "The service is stopping."
            : failed is not null ? $"The model {failed.Name} could not be loaded: {failed.Ready.Exception!.InnerException!.Message}"
            : "The model is still loading.";
    }
}
