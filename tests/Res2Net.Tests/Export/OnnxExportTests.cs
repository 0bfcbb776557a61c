using Onnx;
using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Export;

/// <summary>
/// The ONNX export must compute what the TorchSharp model computes (run through ONNX Runtime), and be a graph the ONNX
/// checker accepts: typed inputs and outputs, every node reading only values produced before it.
/// </summary>
public class OnnxExportTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in FixtureModels.Names)
        {
            data.Add(name, "grouped");
            data.Add(name, "split");
            data.Add(name, "padded");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fixture_outputs_match_the_official_code_and_TorchSharp(string name, string variant)
    {
        var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + ".pth"));
        model.eval();
        using var scope = NewDisposeScope();
        var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor();
        Tensor torchLogits, torchPooled;
        Tensor[] torchStages;
        using (no_grad())
        {
            torchLogits = model.call(input);
            torchPooled = model.ForwardEmbedding(input);
            torchStages = model.ForwardStages(input);
        }

        using var engine = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 1 },
            new OnnxExportOptions { GroupFirstBlock = variant != "split", PadGroups = variant == "padded" });
        var report = new List<string>
        {
            Compare(Expected(name, "logits"), engine.Logits(input), "logits vs official"),
            Compare(torchLogits, engine.Logits(input), "logits vs TorchSharp"),
            Compare(Expected(name, "pooled"), engine.Features(input, FeatureStage.Pooled), "pooled vs official"),
            Compare(torchPooled, engine.Features(input, FeatureStage.Pooled), "pooled vs TorchSharp"),
        };
        for (var s = 0; s < 4; s++)
        {
            report.Add(Compare(torchStages[s], engine.Features(input, FeatureStage.C2 + s), $"c{s + 2}"));
        }

        Assert.True(report.All(r => r.EndsWith("ok", StringComparison.Ordinal)), $"{name}: {string.Join("; ", report)}");

        var top = engine.Classify(input, 3);
        using var torchEngine = new TorchEngine(FixtureModels.Config(name).Build());
        ModelWeights.Load(torchEngine.Model, TestPaths.Fixture(name + ".pth"));
        var expectedTop = torchEngine.Classify(input, 3);
        Assert.Equal(expectedTop.Select(r => r.Top.Select(s => s.Class)), top.Select(r => r.Top.Select(s => s.Class)));
        Assert.Equal(expectedTop[0].Top[0].Prob, top[0].Top[0].Prob, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Fixture_graphs_follow_the_checker_rules(string name)
    {
        using var model = FixtureModels.Config(name).Build();
        model.eval();
        foreach (var options in new[] { new OnnxExportOptions(), new OnnxExportOptions { Opset = 13, Batch = 2, Size = 64, Stages = true } })
        {
            var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ExportBytes(model, options));
            AssertValid(proto, options.Opset);
        }
    }

    [Fact]
    public void Full_size_res2net50_matches_TorchSharp_and_groups_the_first_blocks()
    {
        var model = ModelRegistry.Create("res2net50_26w_4s");
        BatchNormStatistics.Randomise(model);
        model.eval();
        using var scope = NewDisposeScope();
        var input = randn(1, 3, 224, 224, generator: new Generator(7));
        Tensor expected, expectedPooled;
        using (no_grad())
        {
            expected = model.call(input);
            expectedPooled = model.ForwardEmbedding(input);
        }

        using var exported = OnnxExporter.Build(model, new OnnxExportOptions { Batch = 1, Size = 224 });
        var proto = exported.Proto;
        AssertValid(proto, 17);
        var nodes = proto.Graph.Node;
        Assert.DoesNotContain(nodes, n => n.OpType == "BatchNormalization");

        // One grouped convolution (groups = s - 1 = 3) in each of the four stages' first blocks.
        var grouped = nodes.Where(n => n.OpType == "Conv" && n.Attribute.Single(a => a.Name == "group").I == 3).ToList();
        Assert.Equal(4, grouped.Count);

        using var engine = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 2 });
        Assert.Equal("ok", Relative(expected, engine.Logits(input)));
        Assert.Equal("ok", Relative(expectedPooled, engine.Features(input, FeatureStage.Pooled)));
    }

    [Fact]
    public void Unsupported_options_are_refused_with_one_sentence()
    {
        using var model = FixtureModels.Config("res2net_tiny_s4").Build();
        var e = Assert.Throws<InvalidOptionException>(() => OnnxExporter.Build(model, new OnnxExportOptions { Opset = 9 }));
        Assert.Equal("Opset must be from 13 to 21 (got 9).", e.Message);
        Assert.Throws<InvalidOptionException>(() => OnnxExporter.Build(model, new OnnxExportOptions { Batch = 0 }));
    }

    [Fact]
    public void Engine_caches_the_export_by_weights_and_options()
    {
        using var dir = new TempDir();

        // Fixture models are not registered, so this goes through a registered name with its own fresh checkpoint.
        using (var model = ModelRegistry.Create("res2net_dla60", numClasses: 10))
        {
            ModelWeights.Save(model, dir.File("dla.pth"));
        }

        var cache = new OnnxExportCache(new ModelCacheOptions { ExportsBesideWeights = false, Directory = dir.File("cache") });
        var options = new ModelOptions { Threads = 1 };
        using var input = randn(1, 3, 64, 64);
        string first;
        using (var engine = cache.Open(dir.File("dla.pth"), "res2net_dla60", null, null, new OnnxExportOptions(), options))
        {
            Assert.Null(engine.ModelPath);
            Assert.Equal(3, engine.Classify(input, 3)[0].Top.Count);
            first = engine.ModelPath!;
            Assert.True(File.Exists(first));
            Assert.Equal(10, engine.Metadata.NumClasses);
        }

        var stamp = File.GetLastWriteTimeUtc(first);
        using (var again = cache.Open(dir.File("dla.pth"), "res2net_dla60", null, null, new OnnxExportOptions(), options))
        {
            again.Classify(input);
            Assert.Equal(first, again.ModelPath);
            Assert.Equal(stamp, File.GetLastWriteTimeUtc(first));
        }

        // An export edited since it was written (its metadata intact) is not run: it is made again from the weights.
        var expected = Top(cache, dir.File("dla.pth"), options, input);
        var bytes = File.ReadAllBytes(first);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(first, bytes);
        Assert.Equal(expected, Top(cache, dir.File("dla.pth"), options, input));
        Assert.NotEqual(bytes, File.ReadAllBytes(first));

        using var other = cache.Open(dir.File("dla.pth"), "res2net_dla60", null, null, new OnnxExportOptions { GroupFirstBlock = false }, options);
        other.Classify(input);
        Assert.NotEqual(first, other.ModelPath);

        // Another input size is another export (fixed spatial sizes let ONNX Runtime fuse more).
        using var larger = randn(1, 3, 96, 96);
        other.Classify(larger);
        Assert.Equal(3, Directory.GetFiles(dir.File("cache/onnx"), "*.onnx").Length);

        // The engine does not keep the checkpoint: a new size reads it again, and refuses a file replaced meanwhile
        // (its cache entry would be named after the old file's hash).
        using (var replacement = ModelRegistry.Create("res2net_dla60", numClasses: 10))
        {
            ModelWeights.Save(replacement, dir.File("dla.pth"));
        }

        using var another = randn(1, 3, 80, 80);
        var error = Assert.Throws<Res2NetException>(() => other.Classify(another));
        Assert.Contains("dla.pth", error.Message);
        Assert.Equal(3, Directory.GetFiles(dir.File("cache/onnx"), "*.onnx").Length);
    }

    [Fact]
    public void Engine_caches_the_export_beside_the_weights_or_else_in_the_cache_folder()
    {
        using var dir = new TempDir();
        var models = Directory.CreateDirectory(dir.File("models")).FullName;
        var weights = Path.Combine(models, "best.pth");
        using (var model = ModelRegistry.Create("res2net_dla60", numClasses: 10))
        {
            ModelWeights.Save(model, weights);
        }

        var cache = new OnnxExportCache(new ModelCacheOptions { Directory = dir.File("cache") });
        var options = new ModelOptions { Threads = 1 };
        using var input = randn(1, 3, 64, 64);
        string beside;
        using (var engine = cache.Open(weights, "res2net_dla60", null, null, new OnnxExportOptions(), options))
        {
            engine.Classify(input);
            beside = engine.ModelPath!;
        }

        Assert.Equal(models, Path.GetDirectoryName(beside));
        Assert.StartsWith("best.", Path.GetFileName(beside));
        Assert.False(Directory.Exists(dir.File("cache")));

        // Where the export cannot be written beside the weights (here a folder holds its name), the cache folder takes
        // it, and no temporary file is left behind.
        File.Delete(beside);
        File.Delete(beside + ".sha256");
        Directory.CreateDirectory(beside);
        using var fallback = cache.Open(weights, "res2net_dla60", null, null, new OnnxExportOptions(), options);
        fallback.Classify(input);
        Assert.Equal(Path.Combine(dir.File("cache"), "onnx", Path.GetFileName(beside)), fallback.ModelPath);
        // Nothing but the weights and what the first export recorded of them (their metadata, for warm starts); no temporary file.
        Assert.Equal(["best.pth"], Directory.GetFiles(models).Select(Path.GetFileName).Where(f => !f!.EndsWith(".metadata.json", StringComparison.Ordinal)));
        Assert.DoesNotContain(Directory.GetFiles(models), f => f.Contains(".tmp", StringComparison.Ordinal));
    }

    public static TheoryData<string> Names() => new(FixtureModels.Names);

    private static string Top(OnnxExportCache cache, string weights, ModelOptions options, Tensor input)
    {
        using var engine = cache.Open(weights, "res2net_dla60", null, null, new OnnxExportOptions(), options);
        return string.Join(",", engine.Classify(input, 3)[0].Top.Select(t => $"{t.Class}:{t.Prob:F5}"));
    }

    /// <summary>The checker's structural rules: typed graph inputs/outputs, unique names, nodes in topological order.</summary>
    internal static void AssertValid(ModelProto proto, int opset)
    {
        Assert.Equal(opset, proto.OpsetImport.Single().Version);
        var known = new HashSet<string>();
        foreach (var io in proto.Graph.Input.Concat(proto.Graph.Output))
        {
            Assert.Equal((int)TensorProto.Types.DataType.Float, io.Type.TensorType.ElemType);
            Assert.Contains(io.Type.TensorType.Shape.Dim.Count, new[] { 2, 4 });
            Assert.All(io.Type.TensorType.Shape.Dim, d => Assert.True(d.DimValue > 0 || d.DimParam.Length > 0, $"{io.Name} has an unnamed free dimension"));
        }

        foreach (var i in proto.Graph.Input)
        {
            Assert.True(known.Add(i.Name));
        }

        foreach (var init in proto.Graph.Initializer)
        {
            Assert.True(known.Add(init.Name), $"duplicate initializer {init.Name}");
            var bytes = (TensorProto.Types.DataType)init.DataType switch
            {
                TensorProto.Types.DataType.Int64 => 8,
                TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 => 1,
                _ => 4,
            };
            Assert.Equal(init.Dims.Aggregate(1L, (a, b) => a * b) * bytes, init.RawData.Length);
        }

        var nodeNames = new HashSet<string>();
        foreach (var node in proto.Graph.Node)
        {
            Assert.True(nodeNames.Add(node.Name), $"duplicate node name {node.Name}");
            Assert.All(node.Input, i => Assert.True(known.Contains(i), $"{node.Name} reads {i} before it is produced"));
            Assert.All(node.Output, o => Assert.True(known.Add(o), $"{o} is produced twice"));
        }

        Assert.All(proto.Graph.Output, o => Assert.Contains(o.Name, known));
    }

    private static Tensor Expected(string name, string what) => Npy.Read(TestPaths.Fixture($"{name}.{what}.npy")).ToTensor();

    private static string Compare(Tensor expected, Tensor actual, string what)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            return $"{what} shape [{string.Join(", ", actual.shape)}] != [{string.Join(", ", expected.shape)}]";
        }

        var r = Relative(expected, actual);
        return r == "ok" ? $"{what} ok" : $"{what} {r}";
    }

    /// <summary>max |a - b| relative to max |a|, within 1e-4.</summary>
    private static string Relative(Tensor expected, Tensor actual)
    {
        var scale = Math.Max(expected.abs().max().item<float>(), 1e-6f);
        var rel = (expected - actual).abs().max().item<float>() / scale;
        return rel <= 1e-4 ? "ok" : $"relative error {rel:E2} > 1e-4";
    }
}
