using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>
/// Real checkpoints written by mmdetection's Res2Net backbone and by the Res2Net authors' detectron2 port (their own code,
/// tests/fixtures/dense), read in their layouts and run with their block styles: the same stage features as their code.
/// </summary>
public class DenseCheckpointTests
{
    public static TheoryData<string, int> Cases() => new() { { "mmdet", 32 }, { "mmdet", 16 }, { "mmdet", 8 }, { "d2", 32 }, { "d2", 16 } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stage_features_equal_their_code(string name, int outputStride)
    {
        using var model = Load(name, outputStride);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            StageAssert.Equal($"dense/{name}.os{outputStride}", model.ForwardStages(Input()), "training path");
        }

        model.PrepareInference();
        using (inference_mode())
        {
            StageAssert.Equal($"dense/{name}.os{outputStride}", model.ForwardStages(Input()), "inference plan");
        }

        using var engine = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 1 }, new OnnxExportOptions { Stages = true });
        StageAssert.Equal($"dense/{name}.os{outputStride}", Enumerable.Range(0, 4).Select(s => engine.Features(Input(), FeatureStage.C2 + s)).ToArray(), "onnx");
    }

    [Theory]
    [InlineData("mmdet", CheckpointLayout.MMDetection)]
    [InlineData("d2", CheckpointLayout.Detectron2)]
    public void Their_containers_and_layouts_are_recognised(string name, CheckpointLayout layout)
    {
        var tensors = CheckpointFile.ReadStateDict(TestPaths.Fixture($"dense/{name}.pth"));
        var (found, official) = CheckpointLayouts.ToOfficial(tensors, name);
        Assert.Equal(layout, found);
        Assert.Contains("layer4.1.bns.2.running_var", official.Keys);
        Assert.DoesNotContain(official.Keys, k => k.Contains("neck", StringComparison.Ordinal) || k.Contains("fpn", StringComparison.Ordinal));
    }

    /// <summary>The fixtures' models in our terms (tests/fixtures/dense/*.json, "official_style").</summary>
    private static Res2NetConfig Config(string name, int outputStride) => name switch
    {
        // mmdetection: stem_channels 8, base_channels 4, base_width 3 (widths floor(planes * 3 / 4) = official base width 48).
        "mmdet" => new Res2NetConfig
        {
            Layers = [1, 1, 2, 2],
            Widths = [4, 8, 16, 32],
            BaseWidth = 48,
            Scale = 4,
            Stem = StemType.Deep,
            StemWidth = 8,
            AvgDown = true,
            NumClasses = 0,
            OutputStride = outputStride,
            Style = BlockStyle.MMDetection,
        },

        // The detectron2 port: STEM_OUT 64 (its deep stem's inner convolutions are 32 wide), RES2_OUT 16, WIDTH_PER_GROUP 2.
        "d2" => new Res2NetConfig
        {
            Layers = [1, 1, 2, 2],
            Widths = [4, 8, 16, 32],
            BaseWidth = 32,
            Scale = 4,
            Stem = StemType.Deep,
            StemWidth = 64,
            AvgDown = true,
            NumClasses = 0,
            OutputStride = outputStride,
            Style = BlockStyle.Detectron2,
        },
        _ => throw new ArgumentException(name),
    };

    private static Res2NetBackbone Load(string name, int outputStride)
    {
        var model = Config(name, outputStride).Build();
        ModelWeights.Load(model, TestPaths.Fixture($"dense/{name}.pth"));
        model.eval();
        return model;
    }

    private static Tensor Input() => Npy.Read(TestPaths.Fixture("timm/input_1x3x75x107.npy")).ToTensor();
}
