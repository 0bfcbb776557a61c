using System.Collections.ObjectModel;
using System.Globalization;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Res2Net.Protocol.Grpc;

namespace Res2Net.Client.Internal;

/// <summary>The gRPC binding: every tensor travels as raw bytes, both ways.</summary>
internal sealed class GrpcTransport : Transport
{
    private readonly GrpcChannel channel;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient client;
    private readonly Uri address;
    private readonly InferenceClientOptions options;

    public GrpcTransport(Uri address, InferenceClientOptions options, HttpMessageHandler? handler)
    {
        this.address = address;
        this.options = options;

        // An http:// address is HTTP/2 without TLS (prior knowledge), which Grpc.Net.Client does by itself. A caller's
        // handler is not disposed with the channel (DisposeHttpClient stays false); one the channel makes is.
        // ThrowOperationCanceledOnCancellation stays off: it would turn an exceeded deadline into a cancellation too.
        channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = options.MaxMessageBytes,
            MaxSendMessageSize = options.MaxMessageBytes,
        });
        client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
    }

    public override InferenceTransport Kind => InferenceTransport.Grpc;

    public override Task<bool> IsServerLiveAsync(CancellationToken cancellationToken)
        => HealthAsync(o => client.ServerLiveAsync(new ServerLiveRequest(), o), r => r.Live, "", cancellationToken);

    public override Task<bool> IsServerReadyAsync(CancellationToken cancellationToken)
        => HealthAsync(o => client.ServerReadyAsync(new ServerReadyRequest(), o), r => r.Ready, "", cancellationToken);

    public override Task<bool> IsModelReadyAsync(string model, string? version, CancellationToken cancellationToken)
    {
        var request = new ModelReadyRequest { Name = model, Version = version ?? "" };
        return HealthAsync(o => client.ModelReadyAsync(request, o), r => r.Ready, Errors.Prefix(model, version), cancellationToken);
    }

    public override async Task<ServerMetadata> GetServerMetadataAsync(CancellationToken cancellationToken)
    {
        var r = await CallAsync(o => client.ServerMetadataAsync(new ServerMetadataRequest(), o), "", cancellationToken).ConfigureAwait(false);
        return new ServerMetadata(r.Name, r.Version, r.Extensions.ToList().AsReadOnly());
    }

    public override async Task<ModelMetadata> GetModelMetadataAsync(string model, string? version, CancellationToken cancellationToken)
    {
        var request = new ModelMetadataRequest { Name = model, Version = version ?? "" };
        var r = await CallAsync(o => client.ModelMetadataAsync(request, o), Errors.Prefix(model, version), cancellationToken).ConfigureAwait(false);
        return new ModelMetadata(
            string.IsNullOrEmpty(r.Name) ? model : r.Name,
            r.Versions.ToList().AsReadOnly(),
            r.Platform,
            r.Inputs.Select(Signature).ToList().AsReadOnly(),
            r.Outputs.Select(Signature).ToList().AsReadOnly(),
            new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(r.Properties, StringComparer.Ordinal)));
    }

    public override async Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var prefix = Errors.Prefix(request.Model, request.Version);
        var message = new ModelInferRequest
        {
            ModelName = request.Model,
            ModelVersion = request.Version ?? "",
            Id = request.Id ?? "",
        };
        foreach (var pair in request.Parameters)
        {
            message.Parameters.Add(pair.Key, Parameter(ParameterValues.Normalize(pair.Key, pair.Value)));
        }

        foreach (var input in request.Inputs)
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.Datatype.ToWireName() };
            tensor.Shape.AddRange(input.Shape);
            message.Inputs.Add(tensor);

            // Every input goes raw (FP16 and BF16 can go no other way); tensors are immutable, so no copy is needed.
            message.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(input.Data));
        }

        foreach (var output in request.Outputs)
        {
            var requested = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output.Name };
            if (output.Classification is int k)
            {
                requested.Parameters.Add("classification", new InferParameter { Int64Param = k });
            }

            message.Outputs.Add(requested);
        }

        var response = await CallAsync(o => client.ModelInferAsync(message, o), prefix, cancellationToken).ConfigureAwait(false);
        return ToResult(response, request.Model, prefix);
    }

    public override void Dispose() => channel.Dispose();

    private static InferenceResult ToResult(ModelInferResponse response, string model, string prefix)
    {
        var raw = response.RawOutputContents;
        if (raw.Count != 0 && raw.Count != response.Outputs.Count)
        {
            throw Errors.Unreadable(prefix, $"it has {response.Outputs.Count} outputs but {raw.Count} raw_output_contents entries", null, "OK");
        }

        var outputs = new List<InferTensor>(response.Outputs.Count);
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var o = response.Outputs[i];
            if (!TensorDatatypeExtensions.TryParseWireName(o.Datatype, out var datatype))
            {
                throw Errors.Unreadable(prefix, $"output '{o.Name}' has datatype '{o.Datatype}', which this client does not know", null, "OK");
            }

            var shape = o.Shape.ToArray();
            try
            {
                ReadOnlyMemory<byte> data;
                if (raw.Count != 0)
                {
                    data = raw[i].Memory;
                }
                else
                {
                    InferTensor.CheckShape(o.Name, shape, out var count);
                    data = GrpcContents.TryToRaw(o.Contents, datatype, count, out var problem)
                        ?? throw Errors.Unreadable(prefix, $"output '{o.Name}': {problem}", null, "OK");
                }

                outputs.Add(InferTensor.FromRaw(o.Name, datatype, shape, data));
            }
            catch (ArgumentException e)
            {
                throw Errors.Unreadable(prefix, e.Message.Split(" (Parameter")[0], null, "OK", e);
            }
        }

        var parameters = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var pair in response.Parameters)
        {
            object? value = pair.Value.ParameterChoiceCase switch
            {
                InferParameter.ParameterChoiceOneofCase.BoolParam => pair.Value.BoolParam,
                InferParameter.ParameterChoiceOneofCase.Int64Param => pair.Value.Int64Param,
                InferParameter.ParameterChoiceOneofCase.StringParam => pair.Value.StringParam,
                InferParameter.ParameterChoiceOneofCase.DoubleParam => pair.Value.DoubleParam,
                InferParameter.ParameterChoiceOneofCase.Uint64Param => pair.Value.Uint64Param <= long.MaxValue ? (long)pair.Value.Uint64Param : (object)pair.Value.Uint64Param,
                _ => null,
            };
            if (value is not null)
            {
                parameters[pair.Key] = value;
            }
        }

        return new InferenceResult
        {
            ModelName = string.IsNullOrEmpty(response.ModelName) ? model : response.ModelName,
            ModelVersion = string.IsNullOrEmpty(response.ModelVersion) ? null : response.ModelVersion,
            Id = string.IsNullOrEmpty(response.Id) ? null : response.Id,
            Outputs = outputs.AsReadOnly(),
            Parameters = new ReadOnlyDictionary<string, object>(parameters),
        };
    }

    private static InferParameter Parameter(object value) => value switch
    {
        string s => new InferParameter { StringParam = s },
        bool b => new InferParameter { BoolParam = b },
        long l => new InferParameter { Int64Param = l },
        ulong u => new InferParameter { Uint64Param = u },
        double d => new InferParameter { DoubleParam = d },
        _ => throw new ArgumentException($"A parameter cannot be a {value.GetType().Name}.", nameof(InferenceRequest.Parameters)),
    };

    private static TensorMetadata Signature(ModelMetadataResponse.Types.TensorMetadata t)
        => new(t.Name, t.Datatype, t.Shape.ToList().AsReadOnly());

    private CallOptions CallOptions(CancellationToken cancellationToken)
    {
        DateTime? deadline = options.Timeout == System.Threading.Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + options.Timeout;
        return new CallOptions(deadline: deadline, cancellationToken: cancellationToken);
    }

    private async Task<T> CallAsync<T>(Func<CallOptions, AsyncUnaryCall<T>> call, string prefix, CancellationToken cancellationToken)
    {
        using var pending = call(CallOptions(cancellationToken));
        try
        {
            return await pending.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The call was cancelled.", e, cancellationToken);
        }
        catch (RpcException e)
        {
            throw Failure(e, prefix, await HeadersAsync(pending).ConfigureAwait(false));
        }
    }

    /// <summary>The response headers of a failed call where it got any (a retry-after may be there rather than in the trailers).</summary>
    private static async Task<Metadata?> HeadersAsync<T>(AsyncUnaryCall<T> call)
    {
        try
        {
            return await call.ResponseHeadersAsync.ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
        {
            return null;
        }
    }

    private async Task<bool> HealthAsync<T>(Func<CallOptions, AsyncUnaryCall<T>> call, Func<T, bool> read, string prefix, CancellationToken cancellationToken)
    {
        using var pending = call(CallOptions(cancellationToken));
        try
        {
            return read(await pending.ResponseAsync.ConfigureAwait(false));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The call was cancelled.", e, cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !IsUnreachable(e))
        {
            // The server itself said UNAVAILABLE: not live/ready, like REST's 503. An unreachable server still throws.
            return false;
        }
        catch (RpcException e)
        {
            throw Failure(e, prefix, null);
        }
    }

    private static bool IsUnreachable(RpcException e)
        => e.Status.DebugException is HttpRequestException or IOException or SocketException;

    private InferenceServerException Failure(RpcException e, string prefix, Metadata? headers)
    {
        var code = e.StatusCode.ToString();
        var retryAfter = RetryAfter(e.Trailers) ?? RetryAfter(headers);
        if (IsUnreachable(e))
        {
            var reason = e.Status.DebugException!.Message;
            return new InferenceServerException($"Could not reach the inference server at {address}: {reason}", null, code, retryAfter, e);
        }

        if (e.StatusCode == StatusCode.DeadlineExceeded && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            var message = Errors.Sentence(prefix, $"the server at {address} did not answer within {Errors.Seconds(options.Timeout)}.");
            return new InferenceServerException(message, null, code, null, e);
        }

        var detail = e.Status.Detail;
        var text = string.IsNullOrEmpty(detail)
            ? Errors.Sentence(prefix, $"the server at {address} answered gRPC status {code} without a message.")
            : prefix + detail;
        return new InferenceServerException(text, null, code, retryAfter, e);
    }

    /// <summary>A <c>retry-after</c> trailer (or header, which a trailers-only answer folds in) in seconds.</summary>
    private static TimeSpan? RetryAfter(Metadata? metadata)
    {
        var text = metadata?.GetValue("retry-after");
        if (text is not null
            && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && seconds >= 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return null;
    }
}
