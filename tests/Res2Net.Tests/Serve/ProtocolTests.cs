using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary>
/// The Open Inference Protocol over REST, as plain HTTP sees it: every endpoint's JSON, FP32 tensors in JSON and in
/// Triton's binary extension equal to PyTorch's numbers, encoded photos as BYTES, the classification extension, bad
/// requests answered with one sentence and their status, and a Triton model repository with two models.
/// </summary>
public class ProtocolTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    private const string Tiny = "res2net_tiny_s4";

    /// <summary>The fixture model PyTorch made the reference tensors with, served at 64x64 (the fixture input's size).</summary>
    internal static Predictor TinyPredictor(EngineKind engine)
    {
        var model = FixtureModels.Config(Tiny).Build();
        ModelWeights.Load(model, TestPaths.Fixture(Tiny + ".pth"));
        var opened = TestEngines.FromModel(model, engine);
        return TestEngines.Predictor(opened, opened.Metadata.Preprocess with { InputSize = 64 });
    }

    internal static (float[] Values, long[] Shape) Fixture(string suffix)
    {
        var data = Npy.Read(TestPaths.Fixture($"{Tiny}.{suffix}.npy"));
        return (data.ToFloatArray(), data.Shape);
    }

    internal static (float[] Values, long[] Shape) Input()
    {
        var data = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy"));
        return (data.ToFloatArray(), data.Shape);
    }

    internal static void AssertClose(float[] expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }

        Assert.True(worst <= tolerance, $"{what}: largest difference {worst} > {tolerance}");
    }

    [Fact]
    public async Task Server_and_model_metadata_name_the_graphs_tensors_the_platform_and_the_models_metadata()
    {
        await using var host = await ServiceHost.StartAsync(o =>
        {
            o.Source = weights.Path;
            o.Engine = EngineKind.Onnx;
        });
        var server = await GetJson(host, "v2");
        Assert.Equal("res2net", server["name"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(server["version"]!.GetValue<string>()));
        Assert.Equal(["binary_tensor_data", "classification"], server["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.True((await GetJson(host, "v2/health/live"))["live"]!.GetValue<bool>());
        Assert.True((await GetJson(host, "v2/health/ready"))["ready"]!.GetValue<bool>());
        var ready = await GetJson(host, "v2/models/res2net_small/versions/1/ready");
        Assert.Equal("res2net_small", ready["name"]!.GetValue<string>());
        Assert.True(ready["ready"]!.GetValue<bool>());

        foreach (var path in new[] { "v2/models/res2net_small", "v2/models/res2net_small/versions/1" })
        {
            var model = await GetJson(host, path);
            Assert.Equal("res2net_small", model["name"]!.GetValue<string>());
            Assert.Equal(["1"], model["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
            Assert.Equal("onnxruntime_onnx", model["platform"]!.GetValue<string>());
            var inputs = model["inputs"]!.AsArray();
            Assert.Equal("""[{"name":"input","datatype":"FP32","shape":[-1,3,32,32]},{"name":"image","datatype":"BYTES","shape":[-1]}]""", inputs.ToJsonString());
            // A checkpoint offers its logits and embedding (the stage maps only when asked for: StageOutputs).
            Assert.Equal("""[{"name":"logits","datatype":"FP32","shape":[-1,10]},{"name":"embedding","datatype":"FP32","shape":[-1,256]}]""",
                model["outputs"]!.ToJsonString());
            var properties = model["properties"]!;
            Assert.Equal("32", properties["input_size"]!.GetValue<string>());
            Assert.Equal("[0.5,0.5,0.5]", properties["mean"]!.GetValue<string>());
            Assert.Equal("bilinear", properties["interpolation"]!.GetValue<string>());
            Assert.Equal("airplane", JsonNode.Parse(properties["labels"]!.GetValue<string>())![0]!.GetValue<string>());
            Assert.Equal("onnx", properties["engine"]!.GetValue<string>());
        }

        await AssertError(host, HttpMethod.Get, "v2/models/nope", null, HttpStatusCode.NotFound, "serves no model named 'nope'");
        await AssertError(host, HttpMethod.Get, "v2/models/res2net_small/versions/2", null, HttpStatusCode.NotFound, "has no version '2'");
        await AssertError(host, HttpMethod.Get, "v2/models/res2net_small/versions/2/ready", null, HttpStatusCode.NotFound, "has no version '2'");
        await AssertError(host, HttpMethod.Post, "v2/models/nope/infer", "{}", HttpStatusCode.NotFound, "serves no model named 'nope'");
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("onnx")]
    public async Task Fp32_tensors_in_json_and_binary_give_pytorchs_logits_and_embedding_and_only_what_is_asked(string engine)
    {
        var kind = Precisions.ParseEngine(engine);
        await using var host = await ServiceHost.StartAsync(() => TinyPredictor(kind));
        var (input, shape) = Input();
        var (logits, _) = Fixture("logits");
        var (pooled, _) = Fixture("pooled");
        var tolerance = kind == EngineKind.Torch ? 2e-5 : 2e-4;

        // JSON, nested data as numpy's tolist() writes it, both outputs, the id echoed.
        var nested = new JsonArray();
        for (var n = 0; n < 2; n++)
        {
            var image = new JsonArray();
            for (var c = 0; c < 3; c++)
            {
                var plane = new JsonArray();
                for (var y = 0; y < 64; y++)
                {
                    plane.Add(new JsonArray(input.AsSpan(((n * 3 + c) * 64 + y) * 64, 64).ToArray().Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()));
                }

                image.Add(plane);
            }

            nested.Add(image);
        }

        var request = new JsonObject
        {
            ["id"] = "request-7",
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "input", ["datatype"] = "FP32", ["shape"] = new JsonArray(2, 3, 64, 64), ["data"] = nested }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "embedding" }, new JsonObject { ["name"] = "logits" }),
        };
        var answer = await PostJson(host, $"v2/models/{ServiceHost.Model}/infer", request.ToJsonString());
        Assert.Equal("request-7", answer["id"]!.GetValue<string>());
        Assert.Equal(ServiceHost.Model, answer["model_name"]!.GetValue<string>());
        Assert.Equal("1", answer["model_version"]!.GetValue<string>());
        var outputs = answer["outputs"]!.AsArray();
        Assert.Equal(["embedding", "logits"], outputs.Select(o => o!["name"]!.GetValue<string>()));
        Assert.Equal("[2,512]", outputs[0]!["shape"]!.ToJsonString());
        Assert.Equal("[2,10]", outputs[1]!["shape"]!.ToJsonString());
        AssertClose(pooled, Floats(outputs[0]!), tolerance, "embedding (JSON)");
        AssertClose(logits, Floats(outputs[1]!), tolerance, "logits (JSON)");

        // Only what is asked for is returned; flat data works as nested data does.
        request["outputs"] = new JsonArray(new JsonObject { ["name"] = "logits" });
        request["inputs"]![0]!["data"] = new JsonArray(input.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
        request.Remove("id");
        answer = await PostJson(host, $"v2/models/{ServiceHost.Model}/infer", request.ToJsonString());
        Assert.Null(answer["id"]);
        Assert.Equal("logits", Assert.Single(answer["outputs"]!.AsArray())!["name"]!.GetValue<string>());

        // The binary extension: FP32 bytes after the header in, logits back as binary, the embedding as JSON.
        var header = $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,64,64],"parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":[{"name":"logits","parameters":{"binary_data":true}},{"name":"embedding","parameters":{"binary_data":false}}]}""";
        var reply = await PostBinary(host, $"v2/models/{ServiceHost.Model}/versions/1/infer", header, MemoryMarshal.AsBytes(input.AsSpan()).ToArray());
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/octet-stream", reply.ContentType);
        var json = reply.Json;
        var binary = json["outputs"]![0]!;
        Assert.Equal(80, binary["parameters"]!["binary_data_size"]!.GetValue<int>());
        Assert.Null(binary["data"]);
        Assert.Equal(reply.HeaderLength + 80, reply.Body.Length);
        AssertClose(logits, reply.Floats(0, 80), tolerance, "logits (binary)");
        AssertClose(pooled, Floats(json["outputs"]![1]!), tolerance, "embedding (JSON beside binary)");

        // binary_data_output makes the outputs not told otherwise binary.
        header = $$$"""{"parameters":{"binary_data_output":true},"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,64,64],"parameters":{"binary_data_size":{{{input.Length * 4}}}}}]}""";
        reply = await PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, MemoryMarshal.AsBytes(input.AsSpan()).ToArray());
        Assert.Equal([80, 2 * 512 * 4], reply.Json["outputs"]!.AsArray().Select(o => o!["parameters"]!["binary_data_size"]!.GetValue<int>()));
        AssertClose(pooled, reply.Floats(80, 2 * 512 * 4), tolerance, "embedding (binary_data_output)");
    }

    [Fact]
    public async Task Stage_maps_are_outputs_when_asked_for_and_equal_pytorchs()
    {
        await using var host = await ServiceHost.StartAsync(() => TinyPredictor(EngineKind.Torch), o => o.StageOutputs = true);
        var model = await GetJson(host, $"v2/models/{ServiceHost.Model}");
        Assert.Equal(["logits", "embedding", "c2", "c3", "c4", "c5"], model["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()));
        var (input, _) = Input();
        var header = $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,64,64],"parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":[{"name":"c5","parameters":{"binary_data":true}},{"name":"c2","parameters":{"binary_data":true}},{"name":"logits","parameters":{"binary_data":true}}]}""";
        var reply = await PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, MemoryMarshal.AsBytes(input.AsSpan()).ToArray());
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var json = reply.Json["outputs"]!.AsArray();
        var offset = 0;
        foreach (var (output, stage) in json.Zip(new[] { "stage4", "stage1", "logits" }))
        {
            var (expected, shape) = Fixture(stage);
            Assert.Equal(JsonSerializer.Serialize(shape), output!["shape"]!.ToJsonString());
            var size = output["parameters"]!["binary_data_size"]!.GetValue<int>();
            AssertClose(expected, reply.Floats(offset, size), 2e-5, output["name"]!.GetValue<string>());
            offset += size;
        }

        Assert.Equal(reply.Body.Length, reply.HeaderLength + offset);
    }

    [Fact]
    public async Task Photos_as_bytes_answer_as_v1_classify_does_and_the_classification_extension_gives_triton_strings()
    {
        await using var host = await ServiceHost.StartAsync(o =>
        {
            o.Source = weights.Path;
            o.Engine = EngineKind.Onnx;
        });
        var photos = new[] { "chelsea.png", "coffee.png" }.Select(p => File.ReadAllBytes(SmallWeights.Photo(p))).ToArray();

        // The binary extension: BYTES elements, each a 4-byte little-endian length and the photo; logits and top 3.
        var blob = new MemoryStream();
        foreach (var photo in photos)
        {
            blob.Write(BitConverter.GetBytes((uint)photo.Length));
            blob.Write(photo);
        }

        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":{{{blob.Length}}}}}],"outputs":[{"name":"logits"},{"name":"logits_top","parameters":{}}]}""";
        var reply = await PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, blob.ToArray());
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("has no output 'logits_top'", reply.Json["error"]!.GetValue<string>(), StringComparison.Ordinal);

        header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":{{{blob.Length}}}}}],"outputs":[{"name":"logits","parameters":{"classification":3}}]}""";
        reply = await PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, blob.ToArray());
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Null(reply.HeaderLength);
        var classes = reply.Json["outputs"]![0]!;
        Assert.Equal("BYTES", classes["datatype"]!.GetValue<string>());
        Assert.Equal("[2,3]", classes["shape"]!.ToJsonString());
        var strings = classes["data"]!.AsArray().Select(s => s!.GetValue<string>()).ToArray();

        // Base64 strings in JSON carry the same photos; the raw logits say what the strings must hold.
        var request = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "image",
                ["datatype"] = "BYTES",
                ["shape"] = new JsonArray(2),
                ["data"] = new JsonArray(photos.Select(p => (JsonNode)JsonValue.Create(Convert.ToBase64String(p))!).ToArray()),
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "logits" }),
        };
        var logits = Floats((await PostJson(host, $"v2/models/{ServiceHost.Model}/infer", request.ToJsonString()))["outputs"]![0]!);
        var labels = new[] { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" };
        for (var image = 0; image < 2; image++)
        {
            var row = logits.AsSpan(image * 10, 10).ToArray();
            var order = Enumerable.Range(0, 10).OrderByDescending(i => row[i]).ThenBy(i => i).Take(3).ToArray();
            Assert.Equal(order.Select(i => $"{((double)row[i]).ToString("F6", CultureInfo.InvariantCulture)}:{i}:{labels[i]}"), strings.Skip(image * 3).Take(3));

            // /v1/classify on the same photo: the same classes, in the same order.
            using var content = new ByteArrayContent(photos[image]);
            using var v1 = await host.Client.PostAsync("v1/classify?topk=3", content);
            var top = JsonNode.Parse(await v1.Content.ReadAsStringAsync())!["top"]!.AsArray().Select(t => t!["class"]!.GetValue<int>());
            Assert.Equal(order, top);
        }
    }

    public static TheoryData<string, string?, HttpStatusCode, string> BadRequests() => new()
    {
        { "{", null, HttpStatusCode.BadRequest, "JSON is malformed" },
        { "[]", null, HttpStatusCode.BadRequest, "must be a JSON object" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,32,32],"data":[1,2]}]}""", null, HttpStatusCode.BadRequest, "more elements than the" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,2,2],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", null, HttpStatusCode.BadRequest, "must have shape [N, 3, 32, 32]" },
        { """{"inputs":[{"name":"input","datatype":"INT64","shape":[1],"data":[1]}]}""", null, HttpStatusCode.BadRequest, "must be FP32 (got INT64)" },
        { """{"inputs":[{"name":"input","datatype":"FLOAT","shape":[1],"data":[1]}]}""", null, HttpStatusCode.BadRequest, "not one of the protocol's" },
        { """{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1],"data":[1]}]}""", null, HttpStatusCode.BadRequest, "has no input 'pixels'" },
        { """{"inputs":[]}""", null, HttpStatusCode.BadRequest, "takes one input per request" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[9999999999999,3,32,32],"data":[1]}]}""", null, HttpStatusCode.BadRequest, "more elements than the" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,-3],"data":[1]}]}""", null, HttpStatusCode.BadRequest, "none negative" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"data":["a"]}]}""", null, HttpStatusCode.BadRequest, "finite numbers only" },
        { """{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["not base64!"]}]}""", null, HttpStatusCode.BadRequest, "must be a base64 string" },
        { """{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["bm90IGFuIGltYWdl"]}]}""", null, HttpStatusCode.BadRequest, "input 'image': not an image" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}""", null, HttpStatusCode.BadRequest, "not both" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"parameters":{"shared_memory_region":"r"}}]}""", null, HttpStatusCode.BadRequest, "no shared-memory extension" },
        { """{"parameters":{"sequence_id":3},"inputs":[]}""", null, HttpStatusCode.BadRequest, "parameter 'sequence_id' is not one this server takes" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,32,32],"parameters":{"binary_data_size":12288}}]}""", "x", HttpStatusCode.BadRequest, "Inference-Header-Content-Length must be a whole number" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,32,32],"parameters":{"binary_data_size":12288}}]}""", "", HttpStatusCode.BadRequest, "only 0 follow the JSON header" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"logits","parameters":{"classification":0}}]}""", null, HttpStatusCode.BadRequest, "classification must be a whole number, at least 1" },
        { """{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"logits"},{"name":"logits"}]}""", null, HttpStatusCode.BadRequest, "asked for twice" },
        { "{}", "0", HttpStatusCode.BadRequest, "raw binary request" },
        { "{}", "99", HttpStatusCode.BadRequest, "but the body has 2 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_one_sentence_and_their_status(string body, string? headerLength, HttpStatusCode status, string message)
    {
        await using var host = await SharedHost();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{ServiceHost.Model}/infer") { Content = new StringContent(body) };
        if (headerLength is not null)
        {
            request.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", headerLength.Length == 0 ? Encoding.UTF8.GetByteCount(body).ToString(CultureInfo.InvariantCulture) : headerLength);
        }

        using var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var error = JsonNode.Parse(text)!["error"]!.GetValue<string>();
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_and_a_full_queue_gets_503_with_retry_after()
    {
        var gated = new GatedEngine(TestEngines.FromModel(ModelRegistry.Create("res2net_small")));
        await using var host = await ServiceHost.StartAsync(() => TestEngines.Predictor(gated), o =>
        {
            o.MaxQueue = 1;
            o.MaxBatch = 1;
            o.MaxDelay = TimeSpan.Zero;
        });
        var input = new float[3 * 32 * 32];
        var header = $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,32,32],"parameters":{"binary_data_size":{{{input.Length * 4}}}}}]}""";
        var blob = MemoryMarshal.AsBytes(input.AsSpan()).ToArray();
        var first = PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, blob);
        await WaitFor(() => gated.BatchSizes.Count == 1);
        var second = PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, blob);
        await Task.Delay(200);
        var busy = await PostBinary(host, $"v2/models/{ServiceHost.Model}/infer", header, blob);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.Status);
        Assert.True(busy.RetryAfter);
        Assert.Contains("busy", busy.Json["error"]!.GetValue<string>(), StringComparison.Ordinal);
        gated.Open();
        Assert.Equal(HttpStatusCode.OK, (await first).Status);
        Assert.Equal(HttpStatusCode.OK, (await second).Status);

        using var big = new ByteArrayContent(new byte[17 << 20]);
        using var response = await host.Client.PostAsync($"v2/models/{ServiceHost.Model}/infer", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("more than the 16,777,216", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_triton_repository_of_two_models_serves_each_under_its_own_name_with_its_own_queue_and_metrics()
    {
        using var dir = new TempDir();
        using (var small = ModelCheckpoint.Read(weights.Path).CreateModel())
        {
            TritonRepository.Write(small, dir.Path, maxBatch: 4);
        }

        using (var tiny = FixtureModels.Config(Tiny).Build())
        {
            ModelWeights.Load(tiny, TestPaths.Fixture(Tiny + ".pth"));
            tiny.ClassNames = [.. Enumerable.Range(0, 10).Select(i => $"class {i}")];
            // A fixture configuration has no registered name: the folder and the configuration get one.
            var folder = TritonRepository.Write(tiny, dir.Path, new OnnxExportOptions { Size = 64, Stages = true });
            var config = File.ReadAllText(Path.Combine(folder, "config.pbtxt"));
            Directory.Move(folder, Path.Combine(dir.Path, Tiny));
            File.WriteAllText(Path.Combine(dir.Path, Tiny, "config.pbtxt"), config.Replace($"name: \"{Path.GetFileName(folder)}\"", $"name: \"{Tiny}\"", StringComparison.Ordinal));
        }

        await using var host = await ServiceHost.StartModelsAsync(b => b.AddRepository(dir.Path, o => o.MaxBatch = 8));
        var models = (Res2Net.AspNetCore.Res2NetModels)host.Services().GetService(typeof(Res2Net.AspNetCore.Res2NetModels))!;
        Assert.Equal(["res2net_small", "res2net_tiny_s4"], models.Select(m => m.Name));
        Assert.Equal(4, models["res2net_small"].Options.MaxBatch);
        Assert.Equal(8, models["res2net_tiny_s4"].Options.MaxBatch);

        var tinyModel = await GetJson(host, "v2/models/res2net_tiny_s4");
        Assert.Equal(["logits", "embedding", "c2", "c3", "c4", "c5"], tinyModel["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()));
        Assert.Equal("[-1,3,64,64]", tinyModel["inputs"]![0]!["shape"]!.ToJsonString());
        Assert.Equal("[-1,3,32,32]", (await GetJson(host, "v2/models/res2net_small"))["inputs"]![0]!["shape"]!.ToJsonString());

        var (input, _) = Input();
        var header = $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,64,64],"parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":[{"name":"logits","parameters":{"binary_data":true}}]}""";
        var reply = await PostBinary(host, "v2/models/res2net_tiny_s4/infer", header, MemoryMarshal.AsBytes(input.AsSpan()).ToArray());
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        AssertClose(Fixture("logits").Values, reply.Floats(0, 80), 2e-4, "logits from the repository");

        // /v1 takes ?model= when there are several; each model's requests carry its own label.
        using (var photo = new ByteArrayContent(File.ReadAllBytes(SmallWeights.Photo("chelsea.png"))))
        {
            using var classified = await host.Client.PostAsync("v1/classify?model=res2net_tiny_s4&topk=2", photo);
            Assert.Equal(HttpStatusCode.OK, classified.StatusCode);
            Assert.StartsWith("class ", JsonNode.Parse(await classified.Content.ReadAsStringAsync())!["top"]![0]!["label"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var metrics = await host.Client.GetStringAsync("metrics");
        Assert.Contains("res2net_requests_total{route=\"v2_infer\",status=\"200\",model=\"res2net_tiny_s4\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_images_total{kind=\"infer\",model=\"res2net_tiny_s4\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_images_total{kind=\"classify\",model=\"res2net_tiny_s4\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repository_that_is_not_usable_is_refused_with_a_sentence_naming_the_file()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "m", "1"));
        var config = Path.Combine(dir.Path, "m", "config.pbtxt");
        Assert.Contains("holds no model", Refusal(dir.Path), StringComparison.Ordinal);
        File.WriteAllText(config, "name: \"other\"\nplatform: \"onnxruntime_onnx\"\n");
        Assert.Contains("names the model 'other', but its folder is 'm'", Refusal(dir.Path), StringComparison.Ordinal);
        File.WriteAllText(config, "name: \"m\"\nplatform: \"tensorrt_plan\"\n");
        Assert.Contains("this server runs ONNX models only", Refusal(dir.Path), StringComparison.Ordinal);
        File.WriteAllText(config, "name: \"m\"\nbackend: \"onnxruntime\"\ninput { name: \"x\" dims: [ 3, 2 ] }\nmax_batch_size: 4 # a comment\n");
        Assert.Contains("has no version folder holding model.onnx", Refusal(dir.Path), StringComparison.Ordinal);
        File.WriteAllText(config, "name: \"m\"\ninput { name: \"x\" ");
        Assert.Contains("config.pbtxt: line 2: a '{' is not closed", Refusal(dir.Path), StringComparison.Ordinal);
        File.WriteAllText(config, "default_model_filename: \"../../etc/passwd\"\n");
        Assert.Contains("must be a file name, not a path", Refusal(dir.Path), StringComparison.Ordinal);

        static string Refusal(string repository)
        {
            var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
            return Assert.ThrowsAny<Res2NetException>(() => Res2Net.AspNetCore.Res2NetServiceCollectionExtensions.AddRes2Net(services).AddRepository(repository)).Message;
        }
    }

    private static SharedServiceHost? shared;

    /// <summary>One server for the table of bad requests (each case would otherwise start its own).</summary>
    private async Task<SharedServiceHost> SharedHost()
    {
        shared ??= new SharedServiceHost(await ServiceHost.StartAsync(o =>
        {
            o.Source = weights.Path;
            o.Engine = EngineKind.Onnx;
        }));
        return shared;
    }

    /// <summary>A host the tests share: disposing it does nothing (the process ends it).</summary>
    private sealed class SharedServiceHost(ServiceHost host) : IAsyncDisposable
    {
        public HttpClient Client => host.Client;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static float[] Floats(JsonNode output) => output["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();

    private static async Task<JsonNode> GetJson(ServiceHost host, string path)
    {
        using var response = await host.Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> PostJson(ServiceHost host, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await host.Client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return JsonNode.Parse(text)!;
    }

    /// <summary>A JSON header and binary data after it, as tritonclient sends them.</summary>
    internal static async Task<BinaryAnswer> PostBinary(ServiceHost host, string path, string header, byte[] blob)
    {
        var json = Encoding.UTF8.GetBytes(header);
        using var content = new ByteArrayContent([.. json, .. blob]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", json.Length.ToString(CultureInfo.InvariantCulture));
        using var response = await host.Client.PostAsync(path, content);
        int? length = response.Headers.TryGetValues("Inference-Header-Content-Length", out var values) ? int.Parse(values.Single(), CultureInfo.InvariantCulture) : null;
        return new BinaryAnswer(response.StatusCode, length, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter is not null,
            await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>An answer to a binary request: the JSON header's length when binary data follows it.</summary>
    internal sealed record BinaryAnswer(HttpStatusCode Status, int? HeaderLength, string? ContentType, bool RetryAfter, byte[] Body)
    {
        public JsonNode Json => JsonNode.Parse(Body.AsSpan(0, HeaderLength ?? Body.Length))!;

        public ReadOnlySpan<float> Floats(int offset, int bytes) => MemoryMarshal.Cast<byte, float>(Body.AsSpan((HeaderLength ?? 0) + offset, bytes));
    }

    private static async Task AssertError(ServiceHost host, HttpMethod method, string path, string? body, HttpStatusCode status, string message)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body) };
        using var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{path}: {response.StatusCode} {text}");
        Assert.Contains(message, JsonNode.Parse(text)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
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

/// <summary>The tensor paths allocate the tensor, not an object per element.</summary>
public class ProtocolCodecTests
{
    [Fact]
    public void Reading_a_json_image_and_writing_its_answer_allocate_about_the_tensors_not_one_object_per_value()
    {
        var values = Enumerable.Range(0, 3 * 224 * 224).Select(i => (float)Math.Sin(i)).ToArray();
        var json = Encoding.UTF8.GetBytes($$"""{"id":"1","inputs":[{"name":"input","datatype":"FP32","shape":[1,3,224,224],"data":[{{string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""");
        Res2Net.AspNetCore.Protocol.RestCodec.ReadInfer(json, null);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var request = Res2Net.AspNetCore.Protocol.RestCodec.ReadInfer(json, null);
        var read = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(values, request.Inputs[0].Floats);
        // The float array (602,112 bytes) and a few small objects; one boxed value per element would be millions of bytes more.
        Assert.True(read < values.Length * sizeof(float) + 16_384, $"reading allocated {read:N0} bytes");

        var logits = new Res2Net.AspNetCore.Protocol.InferOutput("logits", "FP32", [1, 1000]) { Floats = values[..1000] };
        var embedding = new Res2Net.AspNetCore.Protocol.InferOutput("embedding", "FP32", [1, 2048]) { Floats = values[..2048], Binary = true };
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1 << 20);
        Res2Net.AspNetCore.Protocol.RestCodec.WriteInfer(buffer, "m", "1", "1", [logits, embedding]);
        buffer.ResetWrittenCount();
        before = GC.GetAllocatedBytesForCurrentThread();
        var header = Res2Net.AspNetCore.Protocol.RestCodec.WriteInfer(buffer, "m", "1", "1", [logits, embedding]);
        var wrote = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(wrote < 64_000, $"writing allocated {wrote:N0} bytes");
        var answer = JsonNode.Parse(buffer.WrittenSpan[..header!.Value])!;
        Assert.Equal(values[..1000], answer["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()));
        Assert.Equal(values[..2048], MemoryMarshal.Cast<byte, float>(buffer.WrittenSpan[header.Value..]).ToArray());
    }
}
