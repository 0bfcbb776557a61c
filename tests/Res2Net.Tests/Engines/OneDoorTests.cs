using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.IO;
using Res2Net.Models;
using Res2Net.Tests.Serve;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Engines;

/// <summary>
/// Predictor.OpenAsync is the one way to a runnable model: every kind of source, its options checked once against the
/// source, the warm path that reads nothing it does not need, the bounded export cache, a run that can be stopped.
/// </summary>
public class OneDoorTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    private static readonly string Photo = SmallWeights.Photo("chelsea.png");

    [Fact]
    public async Task A_checkpoint_an_export_of_it_and_either_engine_give_the_same_answer()
    {
        using var dir = new TempDir();
        var cache = new ModelCacheOptions { Directory = dir.File("home"), ExportsBesideWeights = false };
        using var torch = await Predictor.OpenAsync(ModelSource.Checkpoint(weights.Path), new ModelOptions { Engine = EngineKind.Torch, Cache = cache });
        using var onnx = await Predictor.OpenAsync(ModelSource.Checkpoint(weights.Path, "res2net_small"), new ModelOptions { Cache = cache });
        Assert.Equal((EngineKind.Torch, EngineKind.Onnx), (torch.EngineKind, onnx.EngineKind));
        Assert.Equal(Precision.Float32, onnx.Precision);
        Assert.Equal("res2net_small", onnx.Metadata.Model);
        Assert.Equal(torch.Metadata, onnx.Metadata);

        var file = dir.File("small.onnx");
        using (var model = await Res2NetBackbone.CreateAsync(ModelSource.Checkpoint(weights.Path)))
        {
            OnnxExporter.Export(model, file);
        }

        using var exported = await Predictor.OpenAsync(file, new ModelOptions { Cache = cache });
        var expected = torch.Predict(Photo, topk: 3).Top;
        foreach (var other in new[] { onnx, exported })
        {
            var top = other.Predict(Photo, topk: 3).Top;
            Assert.Equal(expected.Select(s => s.Label), top.Select(s => s.Label));
            Assert.All(expected.Zip(top), p => Assert.Equal(p.First.Prob, p.Second.Prob, 5));
        }
    }

    [Theory]
    [InlineData("model.onnx", ModelSourceKind.Onnx)]
    [InlineData("runs/fm/best.pth", ModelSourceKind.Checkpoint)]
    [InlineData("weights.safetensors", ModelSourceKind.Checkpoint)]
    [InlineData("res2net50_26w_4s", ModelSourceKind.Pretrained)]
    [InlineData("res2net50_26w_4s.in1k", ModelSourceKind.Pretrained)]
    public void Text_names_the_kind_of_source_it_is(string text, ModelSourceKind kind) => Assert.Equal(kind, ModelSource.Parse(text).Kind);

    [Fact]
    public void Published_weights_are_found_by_model_tag_and_an_unknown_tag_is_named()
    {
        var (info, weights) = ModelRegistry.GetPretrained("res2net50_26w_4s.in1k");
        Assert.Equal(("res2net50_26w_4s", "res2net50_26w_4s.in1k"), (info.Name, weights.Name));
        Assert.Equal(weights, ModelRegistry.GetPretrained("res2net50").Weights);
        var e = Assert.Throws<UnknownModelException>(() => ModelRegistry.GetPretrained("res2net50_26w_4s.in21k"));
        Assert.Equal("res2net50_26w_4s has no weights tagged 'in21k' (it has in1k).", e.Message);
    }

    [Fact]
    public async Task Options_that_do_not_apply_to_an_onnx_file_are_refused_by_name_before_it_is_read()
    {
        var missing = ModelSource.Onnx("/nonexistent/model.onnx");
        foreach (var (options, option) in new (ModelOptions, string)[]
        {
            (new ModelOptions { OutputStride = 16 }, nameof(ModelOptions.OutputStride)),
            (new ModelOptions { BlockStyle = BlockStyle.MMDetection }, nameof(ModelOptions.BlockStyle)),
            (new ModelOptions { GradCam = true }, nameof(ModelOptions.GradCam)),
            (new ModelOptions { Engine = EngineKind.Torch }, nameof(ModelOptions.Engine)),
            (new ModelOptions { Threads = 0 }, nameof(ModelOptions.Threads)),
            (new ModelOptions { CropPct = 1.5 }, nameof(ModelOptions.CropPct)),
        })
        {
            var e = await Assert.ThrowsAsync<InvalidOptionException>(() => Predictor.OpenAsync(missing, options));
            Assert.Equal(option, e.Option);
        }
    }

    [Fact]
    public async Task An_onnx_file_that_holds_another_model_than_asked_for_is_refused()
    {
        using var dir = new TempDir();
        using (var model = await Res2NetBackbone.CreateAsync(ModelSource.Checkpoint(weights.Path)))
        {
            OnnxExporter.Export(model, dir.File("small.onnx"));
        }

        var e = await Assert.ThrowsAsync<Res2NetException>(() => Predictor.OpenAsync(ModelSource.Onnx(dir.File("small.onnx"), "res2net50")));
        Assert.Equal($"{dir.File("small.onnx")}: the ONNX file holds res2net_small, not res2net50_26w_4s.", e.Message);
    }

    [Fact]
    public async Task A_warm_start_hashes_the_checkpoint_once_and_parses_it_not_at_all()
    {
        using var dir = new TempDir();
        var copy = dir.File("w.pth");
        File.Copy(weights.Path, copy);
        var options = new ModelOptions { Cache = new ModelCacheOptions { Directory = dir.File("home") } };
        var (hashes, reads) = (FileHashes.Computed, ModelCheckpoint.Reads);
        Prediction first;
        ModelMetadata recorded;
        using (var cold = await Predictor.OpenAsync(ModelSource.Checkpoint(copy), options))
        {
            first = cold.Predict(Photo);
            recorded = cold.Metadata;
        }

        // The cold start: one parse (the export needs the weights), one hash (the cache key and the export's record).
        Assert.Equal(hashes + 1, FileHashes.Computed);
        Assert.Equal(reads + 1, ModelCheckpoint.Reads);

        // The warm start: the export's recorded metadata, no parse, and the hash this process already has.
        using var warm = await Predictor.OpenAsync(ModelSource.Checkpoint(copy), options);
        var again = warm.Predict(Photo);
        Assert.Equal(hashes + 1, FileHashes.Computed);
        Assert.Equal(reads + 1, ModelCheckpoint.Reads);
        Assert.Equal(recorded, warm.Metadata);
        Assert.Equal(first.Top.Select(s => (s.Class, s.Label, s.Prob)), again.Top.Select(s => (s.Class, s.Label, s.Prob)));
    }

    [Fact]
    public void The_export_cache_keeps_each_folder_under_its_bound_dropping_the_least_recently_used()
    {
        using var dir = new TempDir();
        var copy = dir.File("w.pth");
        File.Copy(weights.Path, copy);
        var one = new OnnxExportCache(new ModelCacheOptions { Directory = dir.File("home") });
        string oldest;
        using (var first = one.Open(copy, null, null, null, new OnnxExportOptions(), new ModelOptions()))
        {
            first.Logits(new FloatTensor(new float[3 * 32 * 32], 1, 3, 32, 32));
            oldest = first.ModelPath!;
        }

        var exportBytes = new FileInfo(oldest).Length;

        // Room for two exports: the third size pushes out the first, never the one just made nor one in use.
        var bounded = new OnnxExportCache(new ModelCacheOptions { Directory = dir.File("home"), MaxExportBytes = (exportBytes * 5 / 2) + 4096 });
        using var engine = bounded.Open(copy, null, null, null, new OnnxExportOptions(), new ModelOptions());
        foreach (var side in new[] { 40, 48 })
        {
            engine.Logits(new FloatTensor(new float[3 * side * side], 1, 3, side, side));
            Thread.Sleep(20);
        }

        var left = Directory.GetFiles(dir.Path, "*.onnx");
        Assert.True(left.Sum(f => new FileInfo(f).Length) <= (exportBytes * 5 / 2) + 4096, string.Join(", ", left.Select(Path.GetFileName)));
        Assert.Equal(2, left.Length);
        Assert.DoesNotContain(oldest, left);
        Assert.False(File.Exists(oldest + ".sha256"));
        Assert.All(left, f => Assert.True(File.Exists(f + ".sha256")));
    }

    [Fact]
    public async Task A_pass_in_progress_stops_when_its_token_is_cancelled()
    {
        // A large input makes one pass take long enough to cancel in its middle.
        using var predictor = await Predictor.OpenAsync(ModelSource.Untrained("res2net_small"), new ModelOptions { InputSize = 512, Threads = 1 });
        var batch = new FloatTensor(new float[8 * 3 * 512 * 512], 8, 3, 512, 512);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        predictor.Logits(batch);
        var pass = clock.Elapsed;

        using var cancel = new CancellationTokenSource(pass / 10);
        clock.Restart();
        Assert.ThrowsAny<OperationCanceledException>(() => predictor.Logits(batch, cancel.Token));
        Assert.True(clock.Elapsed < pass * 0.8, $"a whole pass takes {pass.TotalMilliseconds:F0} ms; the cancelled one took {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_model_is_built_untrained_only_when_asked_and_fine_tuning_keeps_all_but_the_classifier()
    {
        // The published weights are not there (the mirror refuses): the door says so instead of handing out random weights.
        using var dir = new TempDir();
        var refused = new ModelCacheOptions { Directory = dir.File("home"), Mirror = "http://127.0.0.1:9/" };
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => Res2NetBackbone.CreateAsync(ModelSource.Pretrained("res2net50_26w_4s"),
            new BackboneOptions { Cache = refused }));
        Assert.Contains("could not download http://127.0.0.1:9/res2net50_26w_4s-06e79181.pth", e.Message, StringComparison.Ordinal);

        using var loaded = await Res2NetBackbone.CreateAsync(ModelSource.Checkpoint(weights.Path));
        using var tuned = await Res2NetBackbone.CreateAsync(ModelSource.Checkpoint(weights.Path), new BackboneOptions { NumClasses = 3, Seed = 1 });
        Assert.Equal(3, tuned.Config.NumClasses);
        Assert.Empty(tuned.ClassNames);
        var before = ModelWeights.StateDict(loaded).ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, value) in ModelWeights.StateDict(tuned))
        {
            if (!key.StartsWith("fc.", StringComparison.Ordinal))
            {
                Assert.True(value.eq(before[key]).all().item<bool>(), key);
            }
        }
    }

    [Fact]
    public async Task Grad_cam_comes_through_the_same_door_and_says_when_it_was_not_asked_for()
    {
        using var plain = await Predictor.OpenAsync(ModelSource.Checkpoint(weights.Path));
        Assert.False(plain.CanExplain);
        var photo = Res2Net.Imaging.ImageDecoder.Decode(Photo);
        Assert.Equal("GradCam", Assert.Throws<InvalidOptionException>(() => { plain.Explain(photo); }).Option);

        using var explained = await Predictor.OpenAsync(ModelSource.Checkpoint(weights.Path), new ModelOptions { GradCam = true });
        var cam = explained.Explain(photo, classIndex: 3);
        Assert.Equal(("cat", 3), (cam.Label, cam.Class));
        Assert.All(cam.Map, v => Assert.InRange(v, 0f, 1f));
        Assert.True(cam.MapWidth > 1 && cam.MapHeight > 1, $"{cam.MapWidth}x{cam.MapHeight}");
    }
}
