using System.Text.Json.Nodes;
using Res2Net.Client;
using Res2Net.Engines;
using Res2Net.Models;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary>Res2Net.Client against the service, over REST and over gRPC: what a .NET user of any OIP server gets.</summary>
public class ClientTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    private static InferenceClient Connect(ServiceHost host, InferenceTransport transport, InferenceClientOptions? options = null) =>
        transport == InferenceTransport.Rest ? InferenceClient.ForRest(host.Address, options) : InferenceClient.ForGrpc(host.Grpc!, options);

    [Theory]
    [InlineData(InferenceTransport.Rest)]
    [InlineData(InferenceTransport.Grpc)]
    public async Task Metadata_classification_and_tensors_agree_with_the_service_and_pytorch(InferenceTransport transport)
    {
        await using var host = await ServiceHost.StartModelsAsync(b =>
        {
            b.AddModel(ServiceHost.Model, o =>
            {
                o.Source = weights.Path;
                o.Engine = EngineKind.Onnx;
            });
            b.AddModel("tiny", o => o.Open = _ => Task.FromResult(ProtocolTests.TinyPredictor(EngineKind.Torch)));
        }, grpc: true);
        using var client = Connect(host, transport);
        Assert.Equal(transport, client.Transport);
        Assert.True(await client.IsServerLiveAsync());
        Assert.True(await client.IsServerReadyAsync());
        Assert.True(await client.IsModelReadyAsync("tiny", "1"));
        var server = await client.GetServerMetadataAsync();
        Assert.Equal("res2net", server.Name);
        Assert.Contains("binary_tensor_data", server.Extensions);
        var model = await client.GetModelMetadataAsync(ServiceHost.Model);
        Assert.Equal("onnxruntime_onnx", model.Platform);
        Assert.Equal([-1L, 10], model.Outputs.Single(o => o.Name == "logits").Shape);
        Assert.Equal("32", model.Properties["input_size"]);

        // ClassifyAsync sends the photo's bytes; the labelled scores are /v1/classify's classes, highest first.
        var photo = File.ReadAllBytes(SmallWeights.Photo("chelsea.png"));
        var scores = await client.ClassifyAsync(ServiceHost.Model, photo, topk: 4);
        using var content = new ByteArrayContent(photo);
        using var v1 = await host.Client.PostAsync("v1/classify?topk=4", content);
        var top = JsonNode.Parse(await v1.Content.ReadAsStringAsync())!["top"]!.AsArray();
        Assert.Equal(top.Select(t => t!["class"]!.GetValue<int>()), scores.Select(s => s.Index));
        Assert.Equal(top.Select(t => t!["label"]!.GetValue<string>()), scores.Select(s => s.Label));
        Assert.True(scores.Zip(scores.Skip(1)).All(p => p.First.Score >= p.Second.Score));

        var batch = await client.ClassifyAsync(ServiceHost.Model, [photo, File.ReadAllBytes(SmallWeights.Photo("coffee.png"))], topk: 2);
        Assert.Equal(2, batch.Count);
        Assert.Equal(scores.Take(2).Select(s => s.Index), batch[0].Select(s => s.Index));

        // Typed tensors: PyTorch's input gives PyTorch's logits and embedding.
        var (input, shape) = ProtocolTests.Input();
        var result = await client.InferAsync(new InferenceRequest
        {
            Model = "tiny",
            Id = "c-1",
            Inputs = [InferTensor.FromFloats("input", shape, input)],
            Outputs = [new RequestedOutput("logits"), new RequestedOutput("embedding")],
        });
        Assert.Equal("c-1", result.Id);
        Assert.Equal("1", result.ModelVersion);
        Assert.Equal([2L, 10], result.Output("logits").Shape);
        ProtocolTests.AssertClose(ProtocolTests.Fixture("logits").Values, result.Output("logits").ToFloats(), 2e-5, "logits");
        ProtocolTests.AssertClose(ProtocolTests.Fixture("pooled").Values, result.Output("embedding").ToFloats(), 2e-5, "embedding");

        // The server's sentence and status reach the caller.
        var unknown = await Assert.ThrowsAsync<InferenceServerException>(() => client.ClassifyAsync("nope", photo));
        Assert.Contains("serves no model named 'nope'", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(transport == InferenceTransport.Rest ? 404 : null, unknown.HttpStatus);
        Assert.Equal(transport == InferenceTransport.Grpc ? "NotFound" : null, unknown.GrpcStatus);
        var bad = await Assert.ThrowsAsync<InferenceServerException>(() => client.InferAsync(new InferenceRequest
        {
            Model = "tiny",
            Inputs = [InferTensor.FromFloats("input", [1, 3, 8, 8], new float[192])],
        }));
        Assert.Contains("must have shape [N, 3, 64, 64]", bad.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(InferenceTransport.Rest)]
    [InlineData(InferenceTransport.Grpc)]
    public async Task A_busy_server_is_retried_after_the_wait_it_asks_for_and_a_cancelled_call_stops(InferenceTransport transport)
    {
        var gated = new GatedEngine(TestEngines.FromModel(ModelRegistry.Create("res2net_small")));
        await using var host = await ServiceHost.StartAsync(() => TestEngines.Predictor(gated), o =>
        {
            o.MaxQueue = 1;
            o.MaxBatch = 1;
            o.MaxDelay = TimeSpan.Zero;
        }, grpc: true);
        using var client = Connect(host, transport, new InferenceClientOptions { MaxRetries = 5 });
        var request = new InferenceRequest { Model = ServiceHost.Model, Inputs = [InferTensor.FromFloats("input", [1, 3, 32, 32], new float[3072])] };

        var held = client.InferAsync(request);
        await WaitFor(() => gated.BatchSizes.Count == 1);
        var queued = client.InferAsync(request);
        await Task.Delay(200);
        var retried = client.InferAsync(request);
        await Task.Delay(500);
        Assert.False(retried.IsCompleted);
        gated.Open();
        await held;
        await queued;
        Assert.Equal([1L, 10], (await retried).Output("logits").Shape);
        var metrics = await host.Client.GetStringAsync("metrics");
        Assert.Contains("res2net_rejected_total{reason=\"queue_full\",model=\"res2net_small\"} 1", metrics, StringComparison.Ordinal);

        // Cancellation: a call whose batch is held at the model returns at once when cancelled.
        var gate = new GatedEngine(TestEngines.FromModel(ModelRegistry.Create("res2net_small")));
        await using var second = await ServiceHost.StartAsync(() => TestEngines.Predictor(gate), grpc: true);
        using var other = Connect(second, transport);
        using var cancel = new CancellationTokenSource();
        var call = other.InferAsync(request with { }, cancel.Token);
        await WaitFor(() => gate.BatchSizes.Count == 1);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        gate.Open();
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
