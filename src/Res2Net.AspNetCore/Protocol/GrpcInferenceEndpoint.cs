using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Res2Net.Imaging;
using Res2Net.Protocol.Grpc;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>
/// The Open Inference Protocol's <c>GRPCInferenceService</c>: health, server and model metadata, and inference through
/// the same models, queues and limits as REST. Answers carry their tensors in <c>raw_output_contents</c>, as Triton's
/// do (tritonclient reads only those); requests may use typed <c>contents</c> or <c>raw_input_contents</c>. Errors are
/// the call's status: INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, UNAVAILABLE (with a <c>retry-after</c> trailer).
/// </summary>
internal sealed class GrpcInferenceEndpoint(Res2NetModels models, ILogger<GrpcInferenceEndpoint> logger) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Call("grpc_live", null, context, () => Task.FromResult(new ServerLiveResponse { Live = true }));

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Call("grpc_ready", null, context, () => Task.FromResult(new ServerReadyResponse { Ready = models.IsReady }));

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Call("grpc_model_ready", request.Name, context, () => Task.FromResult(new ModelReadyResponse { Ready = Target(request.Name, request.Version).IsReady }));

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Call("grpc_server_metadata", null, context, () => Task.FromResult(new ServerMetadataResponse
        {
            Name = ServiceHandlers.ServerName,
            Version = ServiceHandlers.ServerVersion,
            Extensions = { ServiceHandlers.Extensions },
        }));

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Call("grpc_model_metadata", request.Name, context, () =>
        {
            var description = Target(request.Name, request.Version).Protocol;
            var answer = new ModelMetadataResponse { Name = description.Name, Versions = { description.Version }, Platform = description.Platform };
            answer.Inputs.AddRange(description.Inputs.Select(Tensor));
            answer.Outputs.AddRange(description.Outputs.Select(Tensor));
            foreach (var (key, value) in description.Properties)
            {
                answer.Properties[key] = value;
            }

            return Task.FromResult(answer);

            static ModelMetadataResponse.Types.TensorMetadata Tensor(TensorSpec t) => new() { Name = t.Name, Datatype = t.Datatype, Shape = { t.Shape } };
        });

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        Call("grpc_infer", request.ModelName, context, async () =>
        {
            var model = Target(request.ModelName, request.ModelVersion);
            var description = model.Protocol;
            var started = Stopwatch.GetTimestamp();
            var read = Read(request, models.Service.MaxBodyBytes);
            models.Metrics.CodecSeconds.WithLabels("read", "grpc", model.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            var outputs = await InferenceRunner.RunAsync(model, description, read, context.CancellationToken).ConfigureAwait(false);
            started = Stopwatch.GetTimestamp();
            var answer = new ModelInferResponse { ModelName = description.Name, ModelVersion = description.Version, Id = request.Id };
            foreach (var output in outputs)
            {
                var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.Datatype, Shape = { output.Shape } };
                if (output.Classification is { } k)
                {
                    tensor.Parameters["classification"] = new InferParameter { Int64Param = k };
                }

                answer.Outputs.Add(tensor);
                answer.RawOutputContents.Add(output.Floats is { } floats
                    ? ByteString.CopyFrom(MemoryMarshal.AsBytes(floats.AsSpan()))
                    : UnsafeByteOperations.UnsafeWrap(Datatypes.JoinBytes(output.Elements!)));
            }

            models.Metrics.CodecSeconds.WithLabels("write", "grpc", model.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            return answer;
        });

    /// <summary>A gRPC request as the transport-neutral request, every tensor's data checked against its shape.</summary>
    internal static InferRequest Read(ModelInferRequest request, long maxBytes)
    {
        TimeSpan? timeout = null;
        foreach (var (name, value) in request.Parameters)
        {
            switch (name)
            {
                case "timeout":
                    timeout = value.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.Int64Param && value.Int64Param >= 0
                        ? TimeSpan.FromMicroseconds(Math.Min(value.Int64Param, 3_600_000_000L))
                        : throw ProtocolException.Bad("Parameter 'timeout' must be an int64_param of microseconds, not negative.");
                    break;
                case "binary_data_output":
                    // REST's switch: gRPC answers always carry raw contents.
                    break;
                default:
                    throw ProtocolException.Bad($"The request parameter '{name}' is not one this server takes (it takes 'timeout').");
            }
        }

        var raw = request.RawInputContents;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            throw ProtocolException.Bad($"The request has {raw.Count} raw_input_contents for {request.Inputs.Count} inputs; each input needs one.");
        }

        var inputs = new List<InferInput>(request.Inputs.Count);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var tensor = request.Inputs[i];
            if (!Datatypes.IsKnown(tensor.Datatype))
            {
                throw ProtocolException.Bad($"Input '{tensor.Name}' has datatype '{tensor.Datatype}', which is not one of the protocol's.");
            }

            if (tensor.Parameters.Count > 0)
            {
                throw ProtocolException.Bad($"Input '{tensor.Name}': the parameter '{tensor.Parameters.Keys.First()}' is not one this server takes (inputs take none over gRPC).");
            }

            if (tensor.Shape.Count > 16 || tensor.Shape.Any(d => d < 0))
            {
                throw ProtocolException.Bad($"Input '{tensor.Name}' must have a shape of at most 16 dimensions, none negative (got {Datatypes.Shape(tensor.Shape)}).");
            }

            var input = new InferInput(tensor.Name, tensor.Datatype, [.. tensor.Shape]);
            var contents = tensor.Contents;
            if (raw.Count > 0)
            {
                if (contents is not null && contents.CalculateSize() > 0)
                {
                    throw ProtocolException.Bad($"Input '{tensor.Name}' has typed contents although the request uses raw_input_contents; use one or the other.");
                }

                RestCodec.Binary(input, raw[i].Memory);
            }
            else if (input.Datatype == Datatypes.Fp32)
            {
                var values = contents?.Fp32Contents;
                var count = Datatypes.ElementCount(input.Name, input.Shape, maxBytes, sizeof(float));
                if (values is null || values.Count != count)
                {
                    throw ProtocolException.Bad($"Input '{input.Name}' holds {values?.Count ?? 0:N0} fp32_contents, not the {count:N0} its shape {Datatypes.Shape(input.Shape)} says.");
                }

                var floats = new float[count];
                values.CopyTo(floats, 0);
                input.Floats = floats;
            }
            else if (input.Datatype == Datatypes.Bytes)
            {
                var values = contents?.BytesContents;
                var count = Datatypes.ElementCount(input.Name, input.Shape, maxBytes, 1);
                if (values is null || values.Count != count)
                {
                    throw ProtocolException.Bad($"Input '{input.Name}' holds {values?.Count ?? 0:N0} bytes_contents, not the {count:N0} its shape {Datatypes.Shape(input.Shape)} says.");
                }

                input.Elements = values.Select(v => v.Memory).ToArray();
            }

            inputs.Add(input);
        }

        var outputs = new List<RequestedOutput>(request.Outputs.Count);
        foreach (var output in request.Outputs)
        {
            int? classification = null;
            foreach (var (name, value) in output.Parameters)
            {
                switch (name)
                {
                    case "classification":
                        classification = value.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.Int64Param && value.Int64Param is >= 1 and <= int.MaxValue
                            ? (int)value.Int64Param
                            : throw ProtocolException.Bad($"Output '{output.Name}': classification must be an int64_param of at least 1.");
                        break;
                    case "binary_data":
                        break;
                    default:
                        throw ProtocolException.Bad($"Output '{output.Name}': the parameter '{name}' is not one this server takes (it takes 'classification').");
                }
            }

            outputs.Add(new RequestedOutput(output.Name, true, classification));
        }

        return new InferRequest { Id = request.Id, Inputs = inputs, Outputs = outputs, BinaryDataOutput = true, Timeout = timeout };
    }

    private Res2NetClassifier Target(string name, string version)
    {
        var classifier = models[name];
        if (version.Length > 0 && version != classifier.Options.Version)
        {
            throw new ProtocolException(ProtocolError.NotFound, $"Model '{name}' has no version '{version}' (it serves version {classifier.Options.Version}).");
        }

        return classifier;
    }

    /// <summary>Runs a call, turns the library's errors into the call's status, and records the call's metrics.</summary>
    private async Task<T> Call<T>(string route, string? model, ServerCallContext context, Func<Task<T>> run)
    {
        var started = Stopwatch.GetTimestamp();
        var label = model is not null && models.TryGet(model, out _) ? model : "";
        var status = StatusCode.OK;
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            status = e switch
            {
                ProtocolException { Error: ProtocolError.NotFound } or UnknownServedModelException => StatusCode.NotFound,
                ProtocolException { Error: ProtocolError.TooLarge } => StatusCode.ResourceExhausted,
                ProtocolException { Error: ProtocolError.Unsupported } => StatusCode.Unimplemented,
                ProtocolException or InvalidOptionException or ImageDecodeException => StatusCode.InvalidArgument,
                ServiceUnavailableException => StatusCode.Unavailable,
                OperationCanceledException when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
                _ => StatusCode.Internal,
            };
            if (e is ServiceUnavailableException busy)
            {
                context.ResponseTrailers.Add("retry-after", Math.Max(1, (int)Math.Ceiling(busy.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
            }

            if (status == StatusCode.Internal)
            {
                logger.LogError(e, "gRPC call {Route} failed", route);
            }

            var message = status == StatusCode.Internal ? $"The server failed on this request ({e.GetType().Name}): {e.Message}" : e.Message;
            throw new RpcException(new Status(status, message));
        }
        finally
        {
            models.Metrics.Requests.WithLabels(route, status.ToString(), label).Inc();
            models.Metrics.Latency.WithLabels(route, label).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
