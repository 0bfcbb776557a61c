using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>
/// Stage features at output strides 8, 16 and 32 against timm's own <c>features_only=True, output_stride=S</c>
/// (tests/fixtures/timm: made by timm's code, on a non-square 75x107 input), in every path a user can take.
/// </summary>
public class TimmBackboneTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "v1", "v1b", "next" })
        {
            foreach (var stride in new[] { 8, 16, 32 })
            {
                data.Add(name, stride);
            }
        }

        return data;
    }

    /// <summary>The timm fixture's model as our configuration (timm's non-deep stem always has 64 channels).</summary>
    internal static Res2NetConfig Config(string name, int outputStride) => name switch
    {
        "v1" => Common with { OutputStride = outputStride },
        "v1b" => Common with { OutputStride = outputStride, Stem = StemType.Deep, StemWidth = 16, AvgDown = true },
        "next" => Common with { OutputStride = outputStride, BaseWidth = 12, Cardinality = 4 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Training_path_equals_timm(string name, int outputStride)
    {
        using var model = Load(name, outputStride);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        StageAssert.Equal($"timm/{name}.os{outputStride}", model.ForwardStages(Input()), "training path");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Inference_plan_equals_timm(string name, int outputStride)
    {
        using var model = Load(name, outputStride);
        model.PrepareInference();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        StageAssert.Equal($"timm/{name}.os{outputStride}", model.ForwardStages(Input()), "inference plan");
        if (outputStride == 32)
        {
            var logits = Npy.Read(TestPaths.Fixture($"timm/{name}.logits.npy")).ToTensor();
            Assert.Equal("ok", StageAssert.Compare(logits, model.call(Input())));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Onnx_export_with_dynamic_height_and_width_equals_timm(string name, int outputStride)
    {
        using var model = Load(name, outputStride);
        using var engine = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 1 }, new OnnxExportOptions { Stages = true });
        using var scope = NewDisposeScope();
        var input = Input();
        var stages = Enumerable.Range(0, 4).Select(s => engine.Features(input, FeatureStage.C2 + s)).ToArray();
        StageAssert.Equal($"timm/{name}.os{outputStride}", stages, "onnx");

        // The same graph at another size (dynamic height and width), equal to the torch path there.
        var other = input[.., .., ..64, ..96].contiguous();
        using var noGrad = no_grad();
        var torchStages = model.ForwardStages(other);
        for (var s = 0; s < 4; s++)
        {
            Assert.Equal("ok", StageAssert.Compare(torchStages[s], engine.Features(other, FeatureStage.C2 + s)));
        }
    }

    [Fact]
    public void Mmdetection_blocks_differ_from_timm_where_they_are_documented_to()
    {
        // mmdetection's dilated v1b shortcut does not pool, and its stride-1 first blocks pass the last group through:
        // the same weights give other features, which is why the style is an explicit choice.
        using var model = (Config("v1b", 16) with { Style = BlockStyle.MMDetection }).Build();
        ModelWeights.Load(model, TestPaths.Fixture("timm/v1b.pth"));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var stages = model.ForwardStages(Input());
        for (var s = 0; s < 4; s++)
        {
            var expected = Npy.Read(TestPaths.Fixture($"timm/v1b.os16.c{s + 2}.npy")).ToTensor();
            Assert.NotEqual("ok", StageAssert.Compare(expected, stages[s]));
        }
    }

    [Fact]
    public void An_onnx_export_ending_after_a_stage_outputs_only_the_stages_up_to_it()
    {
        using var model = Load("v1b", 16);
        using var engine = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 1 }, new OnnxExportOptions { LastStage = 2 });
        Assert.Equal([FeatureStage.C2, FeatureStage.C3], engine.FeatureStages);
        using var scope = NewDisposeScope();
        var expected = Npy.Read(TestPaths.Fixture("timm/v1b.os16.c3.npy")).ToTensor();
        Assert.Equal("ok", StageAssert.Compare(expected, engine.Features(Input(), FeatureStage.C3)));
        Assert.Throws<Res2NetException>(() => engine.Logits(Input()));
        Assert.Throws<InvalidOptionException>(() => engine.Features(Input(), FeatureStage.C4));
        Assert.Throws<InvalidOptionException>(() => OnnxExporter.Build(model, new OnnxExportOptions { LastStage = 5 }));
    }

    [Fact]
    public void Stopping_early_returns_the_same_stages()
    {
        using var model = Load("v1b", 16);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var all = model.ForwardStages(Input());
        var two = model.ForwardStages(Input(), 2);
        Assert.Equal(2, two.Length);
        Assert.Equal("ok", StageAssert.Compare(all[1], two[1]));

        using var engine = new TorchEngine(Load("v1b", 16));
        var c3 = engine.Features(Input(), FeatureStage.C3);
        Assert.Equal("ok", StageAssert.Compare(all[1], c3));
    }

    [Fact]
    public void Feature_info_names_channels_and_reductions()
    {
        foreach (var (stride, reductions) in new[] { (32, new[] { 4, 8, 16, 32 }), (16, new[] { 4, 8, 16, 16 }), (8, new[] { 4, 8, 8, 8 }) })
        {
            using var model = Config("v1b", stride).Build();
            Assert.Equal(["c2", "c3", "c4", "c5"], model.Stages.Select(s => s.Name));
            Assert.Equal(["layer1", "layer2", "layer3", "layer4"], model.Stages.Select(s => s.ModuleName));
            Assert.Equal([32, 64, 96, 128], model.Stages.Select(s => s.Channels));
            Assert.Equal(reductions, model.Stages.Select(s => s.Reduction));
            Assert.Equal(stride, model.Metadata.OutputStride);
        }
    }

    [Fact]
    public void Dla_models_refuse_output_strides_below_32_in_one_sentence()
    {
        var e = Assert.Throws<InvalidOptionException>(() => ModelRegistry.Create("res2net_dla60", outputStride: 8));
        Assert.Equal("OutputStride", e.Option);
        Assert.Equal("OutputStride must be 32 for a DLA model, which has no dilated form (got 8).", e.Message);
        using var ok = ModelRegistry.Create("res2net_dla60", outputStride: 32);
    }

    private static readonly Res2NetConfig Common = new()
    {
        Layers = [1, 1, 2, 2],
        Widths = [8, 16, 24, 32],
        StemWidth = 64,
        BaseWidth = 26,
        Scale = 4,
        NumClasses = 10,
    };

    private static Res2NetBackbone Load(string name, int outputStride)
    {
        var model = Config(name, outputStride).Build();
        ModelWeights.Load(model, TestPaths.Fixture($"timm/{name}.pth"));
        model.eval();
        return model;
    }

    private static Tensor Input() => Npy.Read(TestPaths.Fixture("timm/input_1x3x75x107.npy")).ToTensor();
}
