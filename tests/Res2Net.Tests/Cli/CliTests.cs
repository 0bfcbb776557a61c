using System.Text.Json;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Cli;

public class CliTests
{
    [Theory]
    [InlineData("classify", "res2net: error: Unrecognized option '--bogus' (res2net classify --help lists the options).")]
    [InlineData("models", "res2net: error: Unrecognized command or argument '--bogus' (res2net models --help lists the options).")]
    public void An_unknown_flag_is_a_usage_error_in_one_line_not_an_input(string command, string expected)
    {
        string[] args = command == "classify" ? ["classify", "--model", "res2net_cifar_tiny", "--bogus", Path.Combine(TestPaths.Fixtures, "images", "rocket.jpg")] : ["models", "--bogus"];
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.StdErr.Trim());
    }

    [Fact]
    public void Models_json_lists_every_model_with_params_and_gmacs()
    {
        var r = CliRunner.Run("models", "--format", "json");
        Assert.Equal(0, r.ExitCode);
        var models = JsonDocument.Parse(r.StdOut).RootElement.EnumerateArray().ToList();
        Assert.Equal(ModelRegistry.All.Count, models.Count);
        var r50 = models.Single(m => m.GetProperty("name").GetString() == "res2net50_26w_4s");
        Assert.Equal(25_699_120, r50.GetProperty("params").GetInt64());
        Assert.InRange(r50.GetProperty("gmacs").GetDouble(), 4.2 * 0.97, 4.2 * 1.03);
        Assert.Empty(r.StdErr);
    }

    [Fact]
    public void Models_and_info_tell_the_license_of_the_published_weights_before_anything_is_downloaded()
    {
        var models = JsonDocument.Parse(CliRunner.Run("models", "--format", "json").StdOut).RootElement.EnumerateArray().ToList();
        var r50 = models.Single(m => m.GetProperty("name").GetString() == "res2net50_26w_4s");
        Assert.Equal("CC-BY-NC-SA-4.0", r50.GetProperty("license").GetString());
        var weights = r50.GetProperty("weights").EnumerateArray().Single();
        Assert.Equal("res2net50_26w_4s.in1k", weights.GetProperty("name").GetString());
        Assert.Equal("06e79181", weights.GetProperty("sha256_prefix").GetString());
        Assert.Equal(ModelRegistry.Get("res2net50_26w_4s").Pretrained[0].MaxBytes, weights.GetProperty("max_bytes").GetInt64());
        Assert.Equal(JsonValueKind.Null, models.Single(m => m.GetProperty("name").GetString() == "res2net_small").GetProperty("license").ValueKind);

        var table = CliRunner.Run("models");
        Assert.Contains("CC-BY-NC-SA-4.0", table.StdOut, StringComparison.Ordinal);
        Assert.Contains("non-commercial use only", table.StdErr, StringComparison.Ordinal);

        var info = JsonDocument.Parse(CliRunner.Run("info", "--model", "res2next50", "--format", "json").StdOut).RootElement;
        Assert.Equal("CC-BY-NC-SA-4.0", info.GetProperty("license").GetString());
        Assert.Equal("https://github.com/Res2Net/Res2Net-PretrainedModels", info.GetProperty("pretrained")[0].GetProperty("license_url").GetString());
    }

    [Fact]
    public void Info_prints_stage_shapes_and_never_the_nnpack_warning()
    {
        // A 64x64 input at batch 1 runs small-map convolutions, where LibTorch would try NNPACK and complain.
        var r = CliRunner.Run("info", "--model", "res2net50_v1b_26w_4s", "--size", "64", "--format", "json");
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(r.StdErr);
        var parts = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("parts").EnumerateArray().ToList();
        Assert.Equal(new long[] { 1, 2048, 2, 2 }, parts.Single(p => p.GetProperty("name").GetString() == "c5")
            .GetProperty("output").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    [Fact]
    public void Classify_reports_a_bad_input_by_name_and_still_classifies_the_others()
    {
        using var dir = new TempDir();
        var weights = dir.File("r2n.pth");
        using (var model = ModelRegistry.Create("res2net50_26w_4s"))
        {
            ModelWeights.Save(model, weights);
        }

        var bad = dir.File("broken.npy");
        File.WriteAllBytes(bad, [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        var input = TestPaths.Fixture("input_2x3x64x64.npy");
        var r = CliRunner.Run("classify", "--model", "res2net50", "--weights", weights, "--format", "json", "--topk", "3", input, bad, input);

        Assert.Equal(1, r.ExitCode);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, lines.Count);
        Assert.All(lines, l => Assert.Equal(input, l.GetProperty("input").GetString()));
        Assert.Equal(new[] { 0, 1, 0, 1 }, lines.Select(l => l.GetProperty("index").GetInt32()));
        var labels = File.ReadAllLines(TestPaths.Fixture("imagenet1k_labels.txt"));
        foreach (var line in lines)
        {
            var top = line.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(3, top.Count);
            var probs = top.Select(t => t.GetProperty("prob").GetDouble()).ToList();
            Assert.Equal(probs.OrderDescending(), probs);
            Assert.All(top, t => Assert.Equal(labels[t.GetProperty("class").GetInt32()], t.GetProperty("label").GetString()));
        }

        var errors = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(errors);
        Assert.StartsWith("res2net: error: ", errors[0]);
        Assert.Contains("broken.npy", errors[0]);
        Assert.DoesNotContain("   at ", r.StdErr);
    }

    [Fact]
    public void Features_writes_rows_in_input_order()
    {
        using var dir = new TempDir();
        var weights = dir.File("dla.safetensors");
        using (var model = ModelRegistry.Create("res2next_dla60"))
        {
            ModelWeights.Save(model, weights);
        }

        var input = TestPaths.Fixture("input_2x3x64x64.npy");
        var output = dir.File("c4.npy");
        var r = CliRunner.Run("features", "--model", "res2next_dla60", "--weights", weights, "--stage", "c4", "--batch-size", "1", "--output", output, input, input);
        Assert.Equal(0, r.ExitCode);
        var features = Npy.Read(output);
        Assert.Equal(new long[] { 4, 512, 4, 4 }, features.Shape);
        var f = features.ToFloatArray();
        var row = f.Length / 4;
        Assert.Equal(f.AsSpan(0, row).ToArray(), f.AsSpan(2 * row, row).ToArray());
        Assert.NotEqual(f.AsSpan(0, row).ToArray(), f.AsSpan(row, row).ToArray());
    }

    [Fact]
    public void Convert_and_inspect_round_trip_a_legacy_checkpoint()
    {
        using var dir = new TempDir();
        using (var model = ModelRegistry.Create("res2net_dla60"))
        {
            ModelWeights.Save(model, dir.File("r2n.pth"));
        }

        var st = dir.File("r2n.safetensors");
        var r = CliRunner.Run("convert", "--model", "res2net_dla60", "--input", dir.File("r2n.pth"), "--output", st);
        Assert.Equal(0, r.ExitCode);
        var info = CliRunner.Run("inspect", st, "--format", "json");
        Assert.Equal(0, info.ExitCode);
        var j = JsonDocument.Parse(info.StdOut).RootElement;
        Assert.Equal("safetensors", j.GetProperty("container").GetString());
        Assert.Equal(590, j.GetProperty("tensors").GetInt32());
        Assert.Equal(21_145_544, j.GetProperty("params").GetInt64());
        Assert.Equal("res2net_dla60", j.GetProperty("matches")[0].GetProperty("model").GetString());
        Assert.Equal(CheckpointFile.ReadStateDict(dir.File("r2n.pth")).Select(kv => kv.Value.Data.Length), CheckpointFile.ReadStateDict(st).Select(kv => kv.Value.Data.Length));
    }

    [Theory]
    [InlineData("empty.pth", new byte[0], "the file is empty")]
    [InlineData("image.pth", new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, "not a PyTorch checkpoint")]
    public void Bad_checkpoints_give_one_line_and_exit_1(string name, byte[] content, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File(name);
        File.WriteAllBytes(path, content);
        var r = CliRunner.Run("inspect", path);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"res2net: error: {name}: ", r.StdErr);
        Assert.Contains(expected, r.StdErr);
        Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Unknown_model_exits_2_and_without_network_the_download_fails_fast_and_clearly()
    {
        var unknown = CliRunner.Run("info", "--model", "resnet50");
        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("res2net: error: Unknown model 'resnet50'", unknown.StdErr);

        var started = DateTime.UtcNow;
        var r = CliRunner.Run("classify", "--model", "res2net50", TestPaths.Fixture("input_2x3x64x64.npy"));
        Assert.Equal(1, r.ExitCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
        Assert.Contains("could not download http://127.0.0.1:9/res2net50_26w_4s-06e79181.pth", r.StdErr);
        Assert.Contains("--weights FILE", r.StdErr);
    }
}
