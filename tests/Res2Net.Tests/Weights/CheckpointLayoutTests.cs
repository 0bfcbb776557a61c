using System.Globalization;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

/// <summary>
/// mmdetection's and detectron2's Res2Net checkpoints, recognised by their keys and read into the official layout.
/// The key lists in tests/fixtures/layouts were dumped from those projects' own backbone code.
/// </summary>
public class CheckpointLayoutTests
{
    [Theory]
    [InlineData("mmdet_res2net50_keys.txt", "", CheckpointLayout.MMDetection)]
    [InlineData("mmdet_res2net50_keys.txt", "backbone.", CheckpointLayout.MMDetection)]
    [InlineData("detectron2_res2net50_keys.txt", "", CheckpointLayout.Detectron2)]
    public void Their_res2net50_v1b_keys_map_onto_the_registered_model(string list, string prefix, CheckpointLayout layout)
    {
        var tensors = KeyList(list, prefix);
        if (prefix.Length > 0)
        {
            // A detector checkpoint: the neck and heads beside the backbone are left out.
            tensors["neck.lateral_convs.0.conv.weight"] = Zeros([256, 256, 1, 1]);
            tensors["rpn_head.rpn_cls.weight"] = Zeros([3, 256, 1, 1]);
        }

        var (found, official) = CheckpointLayouts.ToOfficial(tensors, list);
        Assert.Equal(layout, found);
        var matches = ModelWeights.FindMatchingModels(official);
        Assert.Contains(matches, m => m.Model.Name == "res2net50_v1b_26w_4s" && m.NumClasses == 0);
    }

    [Fact]
    public void A_backbone_only_mmdetection_file_reads_as_the_v1b_model_without_classifier_and_builds_mmdetections_blocks()
    {
        using var dir = new TempDir();
        var path = dir.File("mmdet_backbone.safetensors");
        CheckpointFile.Write(path, KeyList("mmdet_res2net50_keys.txt", "backbone."), null);

        var checkpoint = ModelCheckpoint.Read(path);
        Assert.Equal("res2net50_v1b_26w_4s", checkpoint.Model.Name);
        Assert.Equal(CheckpointLayout.MMDetection, checkpoint.Layout);
        Assert.Equal(BlockStyle.MMDetection, checkpoint.Style);
        Assert.Equal(0, checkpoint.Metadata.NumClasses);
        Assert.Equal(BlockStyle.Official, checkpoint.With(style: BlockStyle.Official).Style);

        using var model = checkpoint.With(outputStride: 16).CreateModel();
        Assert.Equal(16, model.Metadata.OutputStride);
        Assert.Equal(BlockStyle.MMDetection, ((Res2NetConfig)model.Config).Style);
    }

    [Fact]
    public void Keys_that_collide_in_the_official_layout_are_refused_in_one_sentence()
    {
        var tensors = KeyList("mmdet_res2net50_keys.txt", "");
        tensors["conv1.0.weight"] = tensors["stem.0.weight"];
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointLayouts.ToOfficial(tensors, "twice.pth"));
        Assert.StartsWith("twice.pth: its keys", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A state dict of zeros with the keys and shapes of a dumped key list.</summary>
    internal static Dictionary<string, TensorData> KeyList(string list, string prefix)
    {
        var result = new Dictionary<string, TensorData>();
        foreach (var line in File.ReadLines(TestPaths.Fixture("layouts/" + list)))
        {
            var (key, shape) = (line.Split('\t')[0], line.Split('\t')[1].Trim('(', ')', ','));
            var dims = shape.Length == 0 ? [] : shape.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(d => long.Parse(d, CultureInfo.InvariantCulture)).ToArray();
            result[key.StartsWith("backbone.", StringComparison.Ordinal) ? key : prefix + key] = key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? new TensorData(DType.Int64, dims, new byte[8])
                : Zeros(dims);
        }

        return result;
    }

    private static TensorData Zeros(long[] shape) => new(DType.Float32, shape, new byte[shape.Aggregate(4L, (a, d) => a * d)]);
}
