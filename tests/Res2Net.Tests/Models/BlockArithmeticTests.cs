using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>
/// The Res2Net block is written three times: the training path (Bottle2neck.forward), the inference plan (folded,
/// padded, grouped: Bottle2neck.Inference.cs) and the ONNX writer (OnnxWriter.Block). This ties them: every form of the
/// block the families build (scale 1 and more, cardinality, the first block of a stage with and without its pooled
/// group, strides, dilations of each style, v1b shortcuts, the deep and the CIFAR stems, DLA's residual roots) is run
/// all three ways on one input, and a change to one of them alone fails here.
/// </summary>
public class BlockArithmeticTests
{
    private static readonly Res2NetConfig Tiny = new()
    {
        Layers = [1, 2, 1, 1],
        Widths = [8, 16, 16, 16],
        StemWidth = 16,
        BaseWidth = 26,
        NumClasses = 5,
    };

    /// <summary>Every form, with the first block of a stage as one grouped convolution and as its separate ones.</summary>
    public static TheoryData<string, bool> Forms()
    {
        var data = new TheoryData<string, bool>();
        foreach (var form in Configs.Keys)
        {
            data.Add(form, true);
            data.Add(form, false);
        }

        return data;
    }

    private static readonly Dictionary<string, ModelConfig> Configs = new()
    {
        ["scale 4"] = Tiny,
        ["scale 1 (a plain bottleneck)"] = Tiny with { Scale = 1, BaseWidth = 64 },
        ["scale 2"] = Tiny with { Scale = 2 },
        ["scale 7, odd group width"] = Tiny with { Scale = 7, BaseWidth = 22 },
        ["cardinality 4 (Res2NeXt)"] = Tiny with { Cardinality = 4, BaseWidth = 8 },
        ["v1b: deep stem, average-pooled shortcut"] = Tiny with { Stem = StemType.Deep, AvgDown = true },
        ["output stride 8, official"] = Tiny with { OutputStride = 8 },
        ["output stride 16, v1b, official (AvgPool2dSame)"] = Tiny with { Stem = StemType.Deep, AvgDown = true, OutputStride = 16 },
        ["output stride 8, mmdetection"] = Tiny with { Stem = StemType.Deep, AvgDown = true, OutputStride = 8, Style = BlockStyle.MMDetection },
        ["detectron2 (stride in conv1)"] = Tiny with { Style = BlockStyle.Detectron2 },
        ["output stride 16, detectron2"] = Tiny with { Style = BlockStyle.Detectron2, OutputStride = 16 },
        ["CIFAR stem, stride 2"] = Tiny with { Stem = StemType.Cifar, CifarStemStride = 2, Layers = [1, 2, 2], Widths = [16, 32, 32], OutputStride = 8 },
        ["DLA, Res2Net block"] = new DlaConfig { Levels = [1, 1, 1, 2, 1, 1], Channels = [8, 16, 32, 32, 32, 32], NumClasses = 5 },
        ["DLA, Res2NeXt block"] = new DlaConfig { Levels = [1, 1, 1, 2, 1, 1], Channels = [8, 16, 32, 32, 32, 32], Block = DlaBlock.Res2NeXt, Cardinality = 4, NumClasses = 5 },
    };

    [Theory]
    [MemberData(nameof(Forms))]
    public void The_training_path_the_inference_plan_and_the_onnx_graph_compute_the_same_block(string form, bool groupFirstBlock)
    {
        manual_seed(7);
        var model = Configs[form].Build();
        BatchNormStatistics.Randomise(model);
        model.eval();
        using var scope = NewDisposeScope();
        var input = randn(2, 3, 64, 64);

        // The training path: gradients on, so no block takes its plan.
        Tensor[] training;
        using (enable_grad())
        {
            training = model.ForwardStages(input).Select(t => t.detach()).ToArray();
        }

        model.PrepareInference(groupFirstBlock);
        Tensor[] plan;
        using (inference_mode())
        {
            plan = model.ForwardStages(input);
        }

        // The ONNX engine takes the model over (and disposes it).
        using var onnx = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 1 }, new OnnxExportOptions { Stages = true, GroupFirstBlock = groupFirstBlock });
        var exported = Enumerable.Range(0, model.Stages.Count).Select(s => onnx.Features(input.ToFloatTensor(), [FeatureStage.C2 + s])[0].ToTensor()).ToArray();

        var report = Enumerable.Range(0, model.Stages.Count).Select(s =>
            $"{model.Stages[s].Name}: plan {StageAssert.Compare(training[s], plan[s])}, onnx {StageAssert.Compare(training[s], exported[s])}").ToList();
        Assert.True(report.All(r => !r.Contains("diff", StringComparison.Ordinal) && !r.Contains("shape", StringComparison.Ordinal)), $"{form}, first blocks {(groupFirstBlock ? "grouped" : "split")}: {string.Join("; ", report)}");
    }
}
