using System.Text.Json;
using Res2Net.Tests.Cli;
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
        var rows = classify.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, rows.Length);

        // Class names come from the classes.txt written beside the checkpoints (the dataset's names, not indices).
        string[] fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
        Assert.Equal(fashion, File.ReadAllLines(dir.File("classes.txt")));
        foreach (var row in rows)
        {
            var top = JsonDocument.Parse(row).RootElement.GetProperty("top")[0];
            Assert.Equal(fashion[top.GetProperty("class").GetInt32()], top.GetProperty("label").GetString());
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights_in_another_process()
    {
        // Shuffling and augmentation seeds once came from HashCode.Combine, which .NET randomises per process.
        using var dir = new TempDir();
        string[] Args(string o) => ["train", "--model", "res2net_cifar_tiny", "--epochs", "1", "--batch-size", "50", "--train-limit", "200",
            "--test-limit", "50", "--threads", "1", "--seed", "7", "--out", o];
        var first = CliRunner.Run(Args(dir.File("a")));
        var second = CliRunner.Run(Args(dir.File("b")));
        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first.StdErr + second.StdErr);
        Assert.Equal(File.ReadAllBytes(dir.File("a/last.pth")), File.ReadAllBytes(dir.File("b/last.pth")));
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
