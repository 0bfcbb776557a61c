using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Cli;

/// <summary>
/// A 1-channel checkpoint made by train goes through convert, export, classify and evaluate with the metadata it
/// carries: the same classes and normalisation everywhere, the same answers from the checkpoint and from its export.
/// </summary>
public class GrayscaleCheckpointTests
{
    private static readonly string[] Fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    [Fact]
    public async Task A_trained_gray_checkpoint_converts_exports_classifies_and_evaluates_alike()
    {
        using var dir = new TempDir();
        var train = CliRunner.Run("train", "--model", "res2net_cifar_tiny", "--epochs", "1", "--batch-size", "50", "--train-limit", "200",
            "--test-limit", "50", "--threads", "2", "--out", dir.File("run"), "--export-samples", "8");
        Assert.True(train.ExitCode == 0, train.StdErr);
        var best = dir.File("run/best.pth");

        // The checkpoint records what it is: no classes.txt is needed beside it or its copies.
        var checkpoint = ModelCheckpoint.Read(best);
        Assert.True(checkpoint.MetadataRecorded);
        Assert.Equal(("res2net_cifar_tiny", 1, 10), (checkpoint.Metadata.Model, checkpoint.Metadata.InChannels, checkpoint.Metadata.NumClasses));
        Assert.Equal(Fashion, checkpoint.Metadata.ClassNames);
        Assert.Equal(28, checkpoint.Metadata.Preprocess.InputSize);

        var convert = CliRunner.Run("convert", "--model", "res2net_cifar_tiny", "--input", best, "--output", dir.File("copy.safetensors"));
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        Assert.Equal(checkpoint.Metadata, ModelCheckpoint.Read(dir.File("copy.safetensors")).Metadata);

        Directory.CreateDirectory(dir.File("onnx"));
        var export = CliRunner.Run("export", "--model", "res2net_cifar_tiny", "--weights", best, "--output", dir.File("onnx/fm.onnx"));
        Assert.True(export.ExitCode == 0, export.StdErr);
        Assert.False(File.Exists(dir.File("onnx/classes.txt")));

        string[] Top(params string[] args)
        {
            var r = CliRunner.Run(["classify", "--model", "res2net_cifar_tiny", "--format", "json", .. args, dir.File("run/samples.npy")]);
            Assert.True(r.ExitCode == 0, r.StdErr);
            return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("top")[0].GetProperty("label").GetString()!).ToArray();
        }

        var fromCheckpoint = Top("--weights", best, "--engine", "torch");
        var fromExport = Top("--onnx", dir.File("onnx/fm.onnx"));
        Assert.Equal(8, fromCheckpoint.Length);
        Assert.All(fromExport, l => Assert.Contains(l, Fashion));
        Assert.Equal(fromCheckpoint, fromExport);

        double Top1(params string[] args)
        {
            var r = CliRunner.Run(["evaluate", "--model", "res2net_cifar_tiny", "--format", "json", .. args]);
            Assert.True(r.ExitCode == 0, r.StdErr);
            return JsonDocument.Parse(r.StdOut).RootElement.GetProperty("top1").GetDouble();
        }

        Assert.Equal(Top1("--weights", best, "--engine", "torch"), Top1("--onnx", dir.File("onnx/fm.onnx")));

        // The library's first example takes the gray checkpoint too, photos become luminance normalised by the one rule.
        using var predictor = await Predictor.OpenAsync(ModelSource.Checkpoint(best, "res2net_cifar_tiny"), new ModelOptions { Engine = EngineKind.Torch });
        Assert.Equal(1, predictor.Preprocessor.Channels);
        Assert.Equal(checkpoint.Metadata.Preprocess, predictor.Preprocessor.Config);
        var photo = predictor.Predict(Path.Combine(TestPaths.Fixtures, "images", "chelsea.png"), topk: 3);
        Assert.Equal(3, photo.Top.Count);
        Assert.Contains(photo.Best.Label, Fashion);
    }
}
