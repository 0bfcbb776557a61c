using System.Text.Json;
using Res2Net.Tests.Cli;
using Res2Net.Training;
using Xunit;

namespace Res2Net.Tests.Training;

public class TrainCliTests
{
    [Fact]
    public void Train_then_evaluate_prints_the_json_contract()
    {
        using var dir = new TempDir();
        var train = CliRunner.Run("train", "--model", "res2net_cifar_tiny", "--epochs", "1", "--batch-size", "50", "--train-limit", "100",
            "--test-limit", "50", "--threads", "2", "--out", dir.Path, "--export-samples", "4");
        Assert.True(train.ExitCode == 0, train.StdErr);
        Assert.Empty(train.StdOut);
        Assert.True(File.Exists(dir.File("samples.npy")));

        var eval = CliRunner.Run("evaluate", "--model", "res2net_cifar_tiny", "--weights", dir.File("best.pth"), "--format", "json");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        var json = JsonDocument.Parse(eval.StdOut).RootElement;
        Assert.Equal(["top1", "top5", "loss", "images"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1000, json.GetProperty("images").GetInt32());
        Assert.InRange(json.GetProperty("top1").GetDouble(), 0, json.GetProperty("top5").GetDouble());

        // classify takes the checkpoint (a 1-channel, 10-class model) and the exported samples.
        var classify = CliRunner.Run("classify", "--model", "res2net_cifar_tiny", "--weights", dir.File("best.pth"), "--format", "json", dir.File("samples.npy"));
        Assert.True(classify.ExitCode == 0, classify.StdErr);
        Assert.Equal(4, classify.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Train_on_an_unknown_directory_fails_with_one_line_naming_the_formats()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("train", "--data", dir.Path, "--out", dir.File("out"));
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("res2net: error: ", line);
        Assert.Contains("expected IDX files", line);
    }
}
