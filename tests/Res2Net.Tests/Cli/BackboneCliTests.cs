using System.Text.Json;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Tests.Weights;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Cli;

/// <summary>The backbone commands: several stages at output stride 8 in both engines, info per stage, inspect's layout.</summary>
public class BackboneCliTests
{
    [Theory]
    [InlineData("torch")]
    [InlineData("onnx")]
    public void Features_writes_every_stage_at_output_stride_8_as_the_library_computes_them(string engine)
    {
        using var dir = new TempDir();
        var weights = dir.File("v1b.pth");
        manual_seed(11);
        using (var fresh = ModelRegistry.Create("res2net50_v1b_26w_4s", 10))
        {
            BatchNormStatistics.Randomise(fresh);
            ModelWeights.Save(fresh, weights);
        }

        var input = TestPaths.Fixture("timm/input_1x3x75x107.npy");
        var output = dir.File("stages.npz");
        var r = CliRunner.Run("features", "--model", "res2net50_v1b_26w_4s", "--weights", weights, "--engine", engine,
            "--stage", "c2,c3,c4,c5", "--output-stride", "8", "--output", output, input);
        Assert.True(r.ExitCode == 0, r.StdErr);

        var arrays = Npz.Read(output);
        Assert.Equal(["c2", "c3", "c4", "c5"], arrays.Select(a => a.Key));
        using var model = ModelCheckpoint.Read(weights).With(outputStride: 8).CreateModel();
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var expected = model.ForwardStages(Npy.Read(input).ToTensor());
        for (var s = 0; s < 4; s++)
        {
            var actual = arrays[s].Value.ToTensor();
            Assert.Equal(expected[s].shape, actual.shape);
            var scale = Math.Max(1f, expected[s].abs().max().item<float>());
            Assert.True((expected[s] - actual).abs().max().item<float>() <= 1e-4f * scale, $"{engine} c{s + 2}");
        }

        // 75x107 at stride 8: 10x14 from the third stage on.
        Assert.Equal(new long[] { 1, 2048, 10, 14 }, arrays[3].Value.Shape);
    }

    [Fact]
    public void A_dla_model_asked_for_output_stride_8_fails_with_one_sentence_before_any_download()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("features", "--model", "res2net_dla60", "--stage", "c5", "--output-stride", "8", "--output", dir.File("x.npy"),
            TestPaths.Fixture("timm/input_1x3x75x107.npy"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("res2net: error: --output-stride must be 32 for a DLA model, which has no dilated form (got 8).", r.StdErr.Trim());
    }

    [Fact]
    public void Info_prints_each_stages_channels_reduction_and_shape_for_a_non_square_input()
    {
        var r = CliRunner.Run("info", "--model", "res2net50_v1b_26w_4s", "--output-stride", "16", "--size", "75x107", "--format", "json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var json = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal(16, json.GetProperty("output_stride").GetInt32());
        var stages = json.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(["c2", "c3", "c4", "c5"], stages.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal([256, 512, 1024, 2048], stages.Select(s => s.GetProperty("channels").GetInt32()));
        Assert.Equal([4, 8, 16, 16], stages.Select(s => s.GetProperty("reduction").GetInt32()));

        // The shapes timm's features_only model gives for this input at output stride 16 (tests/fixtures/timm).
        Assert.Equal(
            [[1, 256, 19, 27], [1, 512, 10, 14], [1, 1024, 5, 7], [1, 2048, 5, 7]],
            stages.Select(s => s.GetProperty("output").EnumerateArray().Select(d => d.GetInt64()).ToArray()));

        var bad = CliRunner.Run("info", "--model", "res2net50_v1b_26w_4s", "--size", "100000");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("res2net: error: --size must be one side or HEIGHTxWIDTH, each 32 to 16384 pixels (got '100000').", bad.StdErr.Trim());
    }

    [Fact]
    public void Inspect_names_the_layout_it_recognised_and_the_model_the_backbone_fits()
    {
        using var dir = new TempDir();
        var path = dir.File("d2.safetensors");
        CheckpointFile.Write(path, CheckpointLayoutTests.KeyList("detectron2_res2net50_keys.txt", ""), null);
        var r = CliRunner.Run("inspect", path, "--format", "json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var json = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal("detectron2", json.GetProperty("layout").GetString());
        Assert.Contains(json.GetProperty("matches").EnumerateArray(), m => m.GetProperty("model").GetString() == "res2net50_v1b_26w_4s");
    }
}
