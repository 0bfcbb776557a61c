using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Res2Net.Engines;
using Res2Net.Models;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary>
/// The Open Inference Protocol over gRPC, through a client compiled from the specification's own .proto (as a user's
/// protoc-generated client would be): health, metadata, raw and typed tensors equal to PyTorch's numbers, photos as
/// BYTES, classification, the status codes of bad requests, and concurrent clients sharing batches.
/// </summary>
public class GrpcProtocolTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    private static GRPCInferenceService.GRPCInferenceServiceClient Client(ServiceHost host, out GrpcChannel channel)
    {
        channel = GrpcChannel.ForAddress(host.Grpc!, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 });
        return new GRPCInferenceService.GRPCInferenceServiceClient(channel);
    }

    [Fact]
    public async Task Health_metadata_and_fp32_inference_equal_pytorch_with_raw_and_typed_contents()
    {
        await using var host = await ServiceHost.StartAsync(() => ProtocolTests.TinyPredictor(EngineKind.Torch), grpc: true);
        var client = Client(host, out var channel);
        using var _ = channel;
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = ServiceHost.Model, Version = "1" })).Ready);
        var server = await client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("res2net", server.Name);
        Assert.Contains("classification", server.Extensions);
        var model = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = ServiceHost.Model });
        Assert.Equal(["1"], model.Versions);
        Assert.Equal("pytorch_libtorch", model.Platform);
        Assert.Equal(["input", "image"], model.Inputs.Select(i => i.Name));
        Assert.Equal([-1L, 3, 64, 64], model.Inputs[0].Shape);
        Assert.Equal(["logits", "embedding"], model.Outputs.Select(o => o.Name));
        Assert.Equal([-1L, 512], model.Outputs[1].Shape);

        var (input, _) = ProtocolTests.Input();
        var (logits, _) = ProtocolTests.Fixture("logits");
        var (pooled, _) = ProtocolTests.Fixture("pooled");

        // raw_input_contents in, raw_output_contents out (tritonclient reads only those), in the order asked.
        var request = new ModelInferRequest { ModelName = ServiceHost.Model, ModelVersion = "1", Id = "g-1" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 2, 3, 64, 64 } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(input.AsSpan())));
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "embedding" });
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "logits" });
        var answer = await client.ModelInferAsync(request);
        Assert.Equal("g-1", answer.Id);
        Assert.Equal("1", answer.ModelVersion);
        Assert.Equal(["embedding", "logits"], answer.Outputs.Select(o => o.Name));
        Assert.Equal([2L, 512], answer.Outputs[0].Shape);
        Assert.Equal(2, answer.RawOutputContents.Count);
        ProtocolTests.AssertClose(pooled, MemoryMarshal.Cast<byte, float>(answer.RawOutputContents[0].Span), 2e-5, "embedding (raw)");
        ProtocolTests.AssertClose(logits, MemoryMarshal.Cast<byte, float>(answer.RawOutputContents[1].Span), 2e-5, "logits (raw)");

        // Typed fp32_contents, no outputs named: every output comes back.
        request = new ModelInferRequest { ModelName = ServiceHost.Model };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 2, 3, 64, 64 }, Contents = new InferTensorContents() };
        tensor.Contents.Fp32Contents.Add(input);
        request.Inputs.Add(tensor);
        answer = await client.ModelInferAsync(request);
        Assert.Equal(["logits", "embedding"], answer.Outputs.Select(o => o.Name));
        ProtocolTests.AssertClose(logits, MemoryMarshal.Cast<byte, float>(answer.RawOutputContents[0].Span), 2e-5, "logits (typed)");
    }

    [Fact]
    public async Task Photos_as_bytes_and_classification_answer_as_rest_does()
    {
        await using var host = await ServiceHost.StartAsync(o =>
        {
            o.Source = weights.Path;
            o.Engine = EngineKind.Onnx;
        }, grpc: true);
        var client = Client(host, out var channel);
        using var _ = channel;
        var photos = new[] { "chelsea.png", "coffee.png" }.Select(p => File.ReadAllBytes(SmallWeights.Photo(p))).ToArray();

        // bytes_contents: one element per photo, no length prefixes.
        var request = new ModelInferRequest { ModelName = ServiceHost.Model };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "BYTES", Shape = { 2 }, Contents = new InferTensorContents() };
        tensor.Contents.BytesContents.Add(photos.Select(ByteString.CopyFrom));
        request.Inputs.Add(tensor);
        var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "logits" };
        output.Parameters["classification"] = new InferParameter { Int64Param = 3 };
        request.Outputs.Add(output);
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "embedding" });
        var answer = await client.ModelInferAsync(request);
        Assert.Equal("BYTES", answer.Outputs[0].Datatype);
        Assert.Equal([2L, 3], answer.Outputs[0].Shape);
        var strings = Split(answer.RawOutputContents[0].ToByteArray());

        // The same request over REST, photos base64 in JSON: the same strings, the same embedding.
        var json = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"data":["{{{Convert.ToBase64String(photos[0])}}}","{{{Convert.ToBase64String(photos[1])}}}"]}],"outputs":[{"name":"logits","parameters":{"classification":3}},{"name":"embedding","parameters":{"binary_data":true}}]}""";
        var rest = await ProtocolTests.PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", json, []);
        Assert.Equal(rest.Json["outputs"]![0]!["data"]!.AsArray().Select(s => s!.GetValue<string>()), strings);
        ProtocolTests.AssertClose(rest.Floats(0, 2 * 256 * 4).ToArray(), MemoryMarshal.Cast<byte, float>(answer.RawOutputContents[1].Span), 0, "embedding over gRPC and REST");

        // raw_input_contents: the BYTES tensor as length-prefixed elements.
        request.Inputs[0].Contents = null;
        var raw = new MemoryStream();
        foreach (var photo in photos)
        {
            raw.Write(BitConverter.GetBytes((uint)photo.Length));
            raw.Write(photo);
        }

        request.RawInputContents.Add(ByteString.CopyFrom(raw.ToArray()));
        Assert.Equal(strings, Split((await client.ModelInferAsync(request)).RawOutputContents[0].ToByteArray()));
    }

    [Fact]
    public async Task Bad_requests_get_their_status_codes_with_one_sentence()
    {
        await using var host = await ServiceHost.StartModelsAsync(b => b.AddModel(ServiceHost.Model, o =>
        {
            o.Source = weights.Path;
            o.Engine = EngineKind.Onnx;
        }), s => s.MaxBodyBytes = 1 << 20, grpc: true);
        var client = Client(host, out var channel);
        using var _ = channel;

        await Expect(StatusCode.NotFound, "serves no model named 'nope'", () => client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" }).ResponseAsync);
        await Expect(StatusCode.NotFound, "has no version '3'", () => client.ModelMetadataAsync(new ModelMetadataRequest { Name = ServiceHost.Model, Version = "3" }).ResponseAsync);
        await Expect(StatusCode.InvalidArgument, "not the 12,288 its shape", () => Infer("FP32", [1, 3, 32, 32], new byte[100]));
        await Expect(StatusCode.InvalidArgument, "must have shape [N, 3, 32, 32]", () => Infer("FP32", [1, 3, 16, 16], new byte[3 * 16 * 16 * 4]));
        await Expect(StatusCode.InvalidArgument, "must be FP32 (got INT32)", () => Infer("INT32", [1, 3, 32, 32], new byte[12288]));
        await Expect(StatusCode.InvalidArgument, "not an image", () => Infer("BYTES", [1], [5, 0, 0, 0, 1, 2, 3, 4, 5], "image"));
        await Expect(StatusCode.InvalidArgument, "declares 1,000 bytes", () => Infer("BYTES", [1], [0xe8, 3, 0, 0, 1], "image"));
        await Expect(StatusCode.ResourceExhausted, "", () => Infer("FP32", [1, 3, 512, 512], new byte[3 * 512 * 512 * 4]));

        var typedAndRaw = new ModelInferRequest { ModelName = ServiceHost.Model };
        typedAndRaw.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 1 }, Contents = new InferTensorContents { Fp32Contents = { 1 } } });
        typedAndRaw.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        await Expect(StatusCode.InvalidArgument, "use one or the other", () => client.ModelInferAsync(typedAndRaw).ResponseAsync);

        Task Infer(string datatype, long[] shape, byte[] raw, string name = "input")
        {
            var request = new ModelInferRequest { ModelName = ServiceHost.Model };
            request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype, Shape = { shape } });
            request.RawInputContents.Add(ByteString.CopyFrom(raw));
            return client.ModelInferAsync(request).ResponseAsync;
        }
    }

    [Fact]
    public async Task A_full_queue_is_unavailable_with_retry_after_and_concurrent_clients_share_batches()
    {
        var gated = new GatedEngine(TestEngines.FromModel(ModelRegistry.Create("res2net_small")));
        await using var host = await ServiceHost.StartAsync(() => TestEngines.Predictor(gated), o =>
        {
            o.MaxQueue = 8;
            o.MaxBatch = 8;
            o.MaxDelay = TimeSpan.FromMilliseconds(50);
        }, grpc: true);
        var client = Client(host, out var channel);
        using var _ = channel;
        var image = new byte[3 * 32 * 32 * 4];

        // One batch held at the model, eight waiting behind it: the tenth is refused at once.
        var first = Infer();
        await WaitFor(() => gated.BatchSizes.Count == 1);
        var waiting = Enumerable.Range(0, 8).Select(_ => Infer()).ToList();
        await Task.Delay(300);
        var refused = await Assert.ThrowsAsync<RpcException>(Infer);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("busy", refused.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(refused.Trailers.GetValue("retry-after"));

        gated.Open();
        await first;
        await Task.WhenAll(waiting);
        Assert.Equal(8, gated.BatchSizes[1]);

        async Task Infer()
        {
            var request = new ModelInferRequest { ModelName = ServiceHost.Model };
            request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 1, 3, 32, 32 } });
            request.RawInputContents.Add(ByteString.CopyFrom(image));
            var answer = await client.ModelInferAsync(request);
            Assert.Equal([1L, 10], answer.Outputs[0].Shape);
        }
    }

    private static async Task Expect(StatusCode code, string message, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(e.StatusCode == code, $"{e.StatusCode}: {e.Status.Detail}");
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Status.Detail);
    }

    private static List<string> Split(byte[] raw)
    {
        var strings = new List<string>();
        for (var offset = 0; offset < raw.Length;)
        {
            var length = BitConverter.ToInt32(raw, offset);
            strings.Add(System.Text.Encoding.UTF8.GetString(raw, offset + 4, length));
            offset += 4 + length;
        }

        return strings;
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition());
    }
}
