using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Imaging;
using Res2Net.Tests.Cli;
using Res2Net.Weights;
using SkiaSharp;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary>The HTTP service as a user's app maps it: answers, errors, limits, batching, metrics.</summary>
public class ServiceTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    private static readonly string[] Photos = ["chelsea.png", "coffee.png", "astronaut.png"];

    [Theory]
    [InlineData("onnx")]
    [InlineData("torch")]
    public async Task Classify_gives_the_numbers_res2net_classify_gives_on_the_same_file_and_engine(string engine)
    {
        await using var host = await ServiceHost.StartAsync(weights.Path, Precisions.ParseEngine(engine));
        var cli = CliRunner.Run(["classify", "--model", "res2net_small", "--weights", weights.Path, "--engine", engine, "--format", "json", "--topk", "5",
            .. Photos.Select(SmallWeights.Photo)]);
        Assert.True(cli.ExitCode == 0, cli.StdErr);
        var expected = cli.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("top")).ToList();

        for (var i = 0; i < Photos.Length; i++)
        {
            using var body = new ByteArrayContent(File.ReadAllBytes(SmallWeights.Photo(Photos[i])));
            body.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var response = await host.Client.PostAsync("v1/classify?topk=5", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("res2net_small", json.GetProperty("model").GetString());
            Assert.True(json.GetProperty("ms").GetDouble() > 0);
            var top = json.GetProperty("top").EnumerateArray().ToList();
            var want = expected[i].EnumerateArray().ToList();
            Assert.Equal(want.Select(t => t.GetProperty("class").GetInt32()), top.Select(t => t.GetProperty("class").GetInt32()));
            Assert.Equal(want.Select(t => t.GetProperty("label").GetString()), top.Select(t => t.GetProperty("label").GetString()));
            Assert.All(want.Zip(top), p => Assert.True(Math.Abs(p.First.GetProperty("prob").GetDouble() - p.Second.GetProperty("prob").GetDouble()) <= 1e-5,
                $"{Photos[i]}: {p.First} vs {p.Second}"));
        }
    }

    [Fact]
    public async Task Multipart_forms_take_several_photos_and_embed_equals_the_library()
    {
        await using var host = await ServiceHost.StartAsync(weights.Path, EngineKind.Onnx);
        using var form = new MultipartFormDataContent();
        foreach (var photo in Photos.Take(2))
        {
            var part = new ByteArrayContent(File.ReadAllBytes(SmallWeights.Photo(photo)));
            part.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(part, "image", photo);
        }

        using var classify = await host.Client.PostAsync("v1/classify?topk=3", form);
        Assert.Equal(HttpStatusCode.OK, classify.StatusCode);
        var answers = JsonDocument.Parse(await classify.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, answers.GetArrayLength());
        Assert.All(answers.EnumerateArray(), a => Assert.Equal(3, a.GetProperty("top").GetArrayLength()));

        using var body = new ByteArrayContent(File.ReadAllBytes(SmallWeights.Photo("coffee.png")));
        using var embed = await host.Client.PostAsync("v1/embed", body);
        var json = JsonDocument.Parse(await embed.Content.ReadAsStringAsync()).RootElement;
        var embedding = json.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(embedding.Length, json.GetProperty("dim").GetInt32());

        using var predictor = await Predictor.OpenAsync(ModelSource.Checkpoint(weights.Path, "res2net_small"), new ModelOptions { Engine = EngineKind.Onnx });
        var expected = predictor.Features(new FloatTensor(predictor.Preprocessor.Process(SmallWeights.Photo("coffee.png")).Values, 1, 3, 32, 32), [FeatureStage.Pooled])[0];
        Assert.Equal(expected.Values.Length, embedding.Length);
        Assert.All(expected.Values.ToArray().Zip(embedding), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4f * Math.Max(1, Math.Abs(p.First))));

        // The same through Microsoft.Extensions.AI.
        var generator = host.Services().GetRequiredService<IEmbeddingGenerator<DataContent, Embedding<float>>>();
        var generated = await generator.GenerateAsync([new DataContent(File.ReadAllBytes(SmallWeights.Photo("coffee.png")), "image/png")]);
        Assert.Equal(embedding, generated[0].Vector.ToArray());
        Assert.Equal("res2net_small", generated[0].ModelId);
    }

    [Fact]
    public async Task Cam_answers_a_png_of_the_photos_size_and_models_describes_the_model()
    {
        await using var host = await ServiceHost.StartAsync(weights.Path, EngineKind.Torch);
        using var body = new ByteArrayContent(File.ReadAllBytes(SmallWeights.Photo("chelsea.png")));
        using var response = await host.Client.PostAsync("v1/cam?class=3", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("3", response.Headers.GetValues("X-Res2Net-Class").Single());
        Assert.Equal("cat", response.Headers.GetValues("X-Res2Net-Label").Single());
        using var png = SKBitmap.Decode(await response.Content.ReadAsByteArrayAsync());
        var photo = ImageDecoder.Decode(SmallWeights.Photo("chelsea.png"));
        Assert.Equal((photo.Width, photo.Height), (png.Width, png.Height));

        var models = JsonDocument.Parse(await host.Client.GetStringAsync("v1/models")).RootElement;
        Assert.Equal("res2net_small", models.GetProperty("model").GetString());
        Assert.Equal("torch", models.GetProperty("engine").GetString());
        Assert.Equal(32, models.GetProperty("input_size").GetInt32());
        Assert.Equal(10, models.GetProperty("num_classes").GetInt32());
        Assert.True(models.GetProperty("cam").GetBoolean());
        Assert.Equal(3, models.GetProperty("mean").GetArrayLength());
    }

    [Fact]
    public async Task Bad_input_gets_one_sentence_with_its_status_and_the_photos_batched_beside_it_succeed()
    {
        var gated = new GatedEngine(Open(EngineKind.Onnx).Engine);
        await using var host = await ServiceHost.StartAsync(o =>
        {
            o.Open = _ => Task.FromResult(TestEngines.Predictor(gated));
            o.MaxBatch = 4;
            o.MaxDelay = TimeSpan.FromMilliseconds(300);
        }, o => o.MaxBodyBytes = 1 << 20);

        // Three requests sent together: the damaged one is refused at decoding, the two others share one batch.
        var good1 = Post(host, File.ReadAllBytes(SmallWeights.Photo("chelsea.png")));
        var bad = Post(host, File.ReadAllBytes(SmallWeights.Photo("truncated.jpg")));
        var good2 = Post(host, File.ReadAllBytes(SmallWeights.Photo("coffee.png")));
        var (badStatus, badBody) = await bad;
        gated.Open();
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Equal("the request body: the image is damaged or truncated (JPEG: the data ends early).", Error(badBody));
        Assert.Equal(HttpStatusCode.OK, (await good1).Status);
        Assert.Equal(HttpStatusCode.OK, (await good2).Status);
        Assert.Equal([2], gated.BatchSizes);

        // The library's one rule: at least one class; more than the model has gives all of them.
        Assert.Equal("topk must be at least 1 (got 0).", Error((await Post(host, File.ReadAllBytes(SmallWeights.Photo("coffee.png")), "v1/classify?topk=0")).Body));
        var all = await Post(host, File.ReadAllBytes(SmallWeights.Photo("coffee.png")), "v1/classify?topk=11");
        Assert.Equal(10, JsonDocument.Parse(all.Body).RootElement.GetProperty("top").GetArrayLength());
        Assert.Equal("topk must be a whole number (got 'five').", Error((await Post(host, [1, 2, 3], "v1/classify?topk=five")).Body));
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(host, [])).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(host, Encoding.ASCII.GetBytes("<html>no</html>"))).Status);
        var (tooLarge, tooLargeBody) = await Post(host, new byte[1_100_000]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge);
        Assert.Equal("The request body is 1,100,000 bytes, more than the 1,048,576 this service takes.", Error(tooLargeBody));

        var metrics = await host.Client.GetStringAsync("metrics");
        Assert.Contains("res2net_batch_size_count{model=\"res2net_small\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_batch_size_sum{model=\"res2net_small\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_requests_total{route=\"classify\",status=\"400\",model=\"res2net_small\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_requests_total{route=\"classify\",status=\"413\",model=\"res2net_small\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_rejected_total{reason=\"bad_image\",model=\"res2net_small\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_queue_depth", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_request_duration_seconds_bucket", metrics, StringComparison.Ordinal);
        Assert.Contains("process_working_set_bytes", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_declared_body_over_the_limit_gets_413_before_it_is_sent()
    {
        await using var host = await ServiceHost.StartAsync(weights.Path, EngineKind.Onnx, o => o.MaxBodyBytes = 1 << 20);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.Address.Host, host.Address.Port);
        var stream = tcp.GetStream();
        var head = $"POST /v1/classify HTTP/1.1\r\nHost: {host.Address.Authority}\r\nContent-Type: image/jpeg\r\nContent-Length: 500000000\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        // Nothing of the 500 MB is sent: the answer must come anyway, and at once.
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var status = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 413", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_queue_gets_503_with_retry_after_and_clients_that_leave_cost_nothing()
    {
        var gated = new GatedEngine(Open(EngineKind.Onnx).Engine);
        await using var host = await ServiceHost.StartAsync(() => TestEngines.Predictor(gated), o =>
        {
            o.MaxBatch = 1;
            o.MaxQueue = 2;
            o.MaxDelay = TimeSpan.Zero;
        });
        var photo = File.ReadAllBytes(SmallWeights.Photo("coffee.png"));

        // One in the model (held), two waiting: the queue is full.
        var running = Post(host, photo);
        await WaitFor(() => gated.BatchSizes.Count == 1);
        using var leaving = new CancellationTokenSource();
        var abandoned = Post(host, photo, cancel: leaving.Token);
        var waiting = Post(host, photo);
        await WaitFor(() => host.Classifier.Metrics.QueueDepth.WithLabels(ServiceHost.Model).Value == 2);

        using var refused = await host.Client.PostAsync("v1/classify", new ByteArrayContent(photo));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("The service is busy: 2 images are already waiting for the model.", Error(await refused.Content.ReadAsStringAsync()));

        // A client that gives up while queued: its image never reaches the model; the others are answered.
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await WaitFor(() => host.Classifier.Metrics.Requests.WithLabels("classify", "499", ServiceHost.Model).Value == 1);
        gated.Open();
        Assert.Equal(HttpStatusCode.OK, (await running).Status);
        Assert.Equal(HttpStatusCode.OK, (await waiting).Status);
        Assert.Equal([1, 1], gated.BatchSizes);
    }

    [Fact]
    public async Task Readiness_waits_for_the_model_and_health_does_not()
    {
        var gate = new ManualResetEventSlim();
        await using var host = await ServiceHost.StartAsync(() =>
        {
            gate.Wait(TimeSpan.FromSeconds(30));
            return Open(EngineKind.Onnx);
        }, waitReady: false);
        using (var loading = await host.Client.GetAsync("readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
            Assert.Equal("The model is still loading.", Error(await loading.Content.ReadAsStringAsync()));
        }

        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Post(host, [1])).Status);

        // The protocol's probes say the same: live at once, ready (and the model ready, its metadata given) once loaded.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("v2/health/live")).StatusCode);
        foreach (var path in new[] { "v2/health/ready", $"v2/models/{ServiceHost.Model}/ready", $"v2/models/{ServiceHost.Model}" })
        {
            using var response = await host.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Contains("loading", Error(await response.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        }

        gate.Set();
        await host.Classifier.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync($"v2/models/{ServiceHost.Model}/ready")).StatusCode);

        // Stopping: readiness turns off while the requests in flight finish.
        var models = (Res2Net.AspNetCore.Res2NetModels)host.Services().GetService(typeof(Res2Net.AspNetCore.Res2NetModels))!;
        models.Drain();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("v2/health/live")).StatusCode);
    }

    [Fact]
    public async Task An_onnx_file_alone_serves_classification_and_says_cam_needs_the_weights()
    {
        using var dir = new TempDir();
        var onnx = dir.File("small.onnx");
        using (var model = ModelCheckpoint.Read(weights.Path).CreateModel())
        {
            model.eval();
            OnnxExporter.Export(model, onnx);
        }

        await using var host = await ServiceHost.StartAsync(o => o.Source = onnx);
        Assert.Equal(HttpStatusCode.OK, (await Post(host, File.ReadAllBytes(SmallWeights.Photo("coffee.png")))).Status);
        var (status, body) = await Post(host, File.ReadAllBytes(SmallWeights.Photo("coffee.png")), "v1/cam");
        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Equal("Grad-CAM is not available here: it needs the model's weights on the torch engine (GradCam), and this model was opened without them.", Error(body));
    }

    /// <summary>The test's weights opened through the one door, on <paramref name="engine"/>.</summary>
    private Predictor Open(EngineKind engine) => TestEngines.Open(ModelSource.Checkpoint(weights.Path), new ModelOptions { Engine = engine });

    private static async Task<(HttpStatusCode Status, string Body)> Post(ServiceHost host, byte[] body, string path = "v1/classify?topk=5", CancellationToken cancel = default)
    {
        using var content = new ByteArrayContent(body);
        using var response = await host.Client.PostAsync(path, content, cancel);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancel));
    }

    private static string Error(string body) => JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "timed out waiting");
    }
}
