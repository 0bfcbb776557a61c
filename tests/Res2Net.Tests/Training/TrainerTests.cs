using System.Text.Json;
using Res2Net.Models;
using Res2Net.Training;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Training;

/// <summary>Small runs: the tiny model, 200 images of the embedded sample, 2 epochs.</summary>
public class TrainerTests
{
    private static readonly DatasetSplits Sample = DatasetLoader.LoadEmbeddedSample();

    internal static TrainOptions Quick(string outDir) => new()
    {
        Model = "res2net_cifar_tiny",
        Epochs = 2,
        BatchSize = 50,
        Lr = 0.05,
        WarmupEpochs = 0.5,
        TrainLimit = 200,
        TestLimit = 100,
        Threads = 2,
        Seed = 7,
        OutDir = outDir,
    };

    [Fact]
    public void A_short_run_lowers_the_loss_and_writes_every_file()
    {
        using var dir = new TempDir();
        var result = new Trainer(Quick(dir.Path), Sample).Run();

        Assert.False(result.Cancelled);
        Assert.Equal(2, result.Epochs.Count);
        Assert.True(result.Epochs[1].TrainLoss < result.Epochs[0].TrainLoss, $"train loss {result.Epochs[0].TrainLoss} -> {result.Epochs[1].TrainLoss}");
        foreach (var f in new[] { "last.pth", "best.pth", "last.state", "metrics.jsonl", "chart.png" })
        {
            Assert.True(File.Exists(dir.File(f)), f);
        }

        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));   // no temporary file left behind

        var lines = File.ReadAllLines(dir.File("metrics.jsonl"));
        Assert.Equal(2, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var m = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal("res2net_cifar_tiny", m.GetProperty("model").GetString());
            Assert.Equal(i + 1, m.GetProperty("epoch").GetInt32());
            foreach (var key in new[] { "train_loss", "val_loss", "val_top1", "val_top5", "seconds" })
            {
                Assert.True(m.GetProperty(key).GetDouble() >= 0, key);
            }

            Assert.InRange(m.GetProperty("val_top5").GetDouble(), m.GetProperty("val_top1").GetDouble(), 100);
        }

        // best.pth is a plain state dict: it loads strictly into the model PyTorch-style, and gives the logged accuracy.
        using var model = ModelRegistry.Create("res2net_cifar_tiny", 10, 1);
        ModelWeights.Load(model, CheckpointFile.ReadStateDict(dir.File("best.pth")), "best.pth");
        var eval = Trainer.Evaluate(model, Sample.Test.Subset(Enumerable.Range(0, 100).Select(i => i * 10).ToList()));
        Assert.Equal(100, eval.Images);
        Assert.Equal(result.BestTop1, result.Epochs.Max(e => e.ValTop1));
    }

    [Fact]
    public void Resuming_after_a_stop_inside_an_epoch_ends_with_the_same_weights()
    {
        using var whole = new TempDir();
        using var split = new TempDir();
        new Trainer(Quick(whole.Path), Sample).Run();

        using var cancel = new CancellationTokenSource();
        var stopped = new Trainer(Quick(split.Path), Sample, new StopAt(epoch: 2, step: 2, cancel)).Run(cancel.Token);
        Assert.True(stopped.Cancelled);
        var resumed = new Trainer(Quick(split.Path) with { Resume = true }, Sample).Run();
        Assert.False(resumed.Cancelled);

        var a = CheckpointFile.ReadStateDict(whole.File("last.pth"));
        var b = CheckpointFile.ReadStateDict(split.File("last.pth"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (key, t) in a)
        {
            Assert.True(t.Data.AsSpan().SequenceEqual(b[key].Data), $"{key} differs after resuming");
        }

        Assert.Equal(File.ReadAllLines(whole.File("metrics.jsonl")).Select(StripTimes), File.ReadAllLines(split.File("metrics.jsonl")).Select(StripTimes));
    }

    [Fact]
    public void The_seed_alone_decides_the_weights_while_other_threads_draw_random_numbers()
    {
        // Other threads drawing from torch's global generator (models being built, tests running beside) must not
        // reach into a seeded run.
        using var stop = new CancellationTokenSource();
        var noise = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var r = randn(64);
            }
        });
        noise.Start();
        using var first = new TempDir();
        using var second = new TempDir();
        try
        {
            new Trainer(Quick(first.Path) with { Epochs = 1, TrainLimit = 100 }, Sample).Run();
            new Trainer(Quick(second.Path) with { Epochs = 1, TrainLimit = 100 }, Sample).Run();
        }
        finally
        {
            stop.Cancel();
            noise.Join();
        }

        var a = CheckpointFile.ReadStateDict(first.File("last.pth"));
        var b = CheckpointFile.ReadStateDict(second.File("last.pth"));
        foreach (var (key, t) in a)
        {
            Assert.True(t.Data.AsSpan().SequenceEqual(b[key].Data), $"{key} differs between two runs with the same seed");
        }
    }

    [Fact]
    public void A_diverging_run_stops_with_a_clear_message_and_writes_no_checkpoint()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<TrainingDivergedException>(() => new Trainer(Quick(dir.Path) with { Lr = 1e9, WarmupEpochs = 0 }, Sample).Run());
        Assert.StartsWith("Training diverged:", e.Message);
        Assert.False(File.Exists(dir.File("last.state")));
        Assert.False(File.Exists(dir.File("last.pth")));
    }

    [Fact]
    public void Fine_tuning_with_a_frozen_backbone_replaces_the_classifier_and_keeps_every_other_tensor()
    {
        using var dir = new TempDir();
        string source = dir.File("ten.pth");
        manual_seed(3);
        using (var ten = ModelRegistry.Create("res2net_cifar_tiny", 10, 1))
        {
            ModelWeights.Save(ten, source);
        }

        // A two-class dataset: trousers against bags.
        ImageDataset TwoClasses(ImageDataset d, int n)
        {
            var picked = Enumerable.Range(0, d.Count).Where(i => d.Labels[i] is 1 or 8).Take(n).ToList();
            var subset = d.Subset(picked);
            return new ImageDataset("two", subset.Pixels, subset.Labels.Select(l => l == 1 ? 0 : 1).ToArray(), 1, 28, 28, ["Trouser", "Bag"]);
        }

        var data = new DatasetSplits(TwoClasses(Sample.Train, 100), TwoClasses(Sample.Test, 40), "idx");
        var options = Quick(dir.File("out")) with { Epochs = 1, InitialWeights = source, FreezeBackbone = true, TrainLimit = null, TestLimit = null };
        var result = new Trainer(options, data).Run();
        Assert.Single(result.Epochs);

        var before = CheckpointFile.ReadStateDict(source);
        var after = CheckpointFile.ReadStateDict(dir.File("out/last.pth"));
        Assert.Equal(new long[] { 2, 128 }, after["fc.weight"].Shape);
        foreach (var (key, t) in before.Where(e => !e.Key.StartsWith("fc.", StringComparison.Ordinal) && !e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
        {
            Assert.True(t.Data.AsSpan().SequenceEqual(after[key].Data), $"{key} changed although the backbone was frozen");
        }
    }

    [Fact]
    public void Frozen_stages_keep_their_weights_and_statistics_bit_identical_and_the_rest_learns()
    {
        using var dir = new TempDir();
        var source = dir.File("start.pth");
        manual_seed(5);
        using (var start = ModelRegistry.Create("res2net_cifar_tiny", 10, 1))
        {
            ModelWeights.Save(start, source);
        }

        var options = Quick(dir.File("out")) with { Epochs = 1, InitialWeights = source, FreezeStages = 1 };
        new Trainer(options, Sample).Run();

        var before = CheckpointFile.ReadStateDict(source);
        var after = CheckpointFile.ReadStateDict(dir.File("out/last.pth"));
        var frozen = before.Keys.Where(k => k.StartsWith("conv1.", StringComparison.Ordinal) || k.StartsWith("bn1.", StringComparison.Ordinal)
            || k.StartsWith("layer1.", StringComparison.Ordinal)).ToList();
        Assert.Contains("layer1.0.bns.0.running_var", frozen);
        foreach (var key in frozen)
        {
            Assert.True(before[key].Data.AsSpan().SequenceEqual(after[key].Data), $"{key} changed although the stem and layer1 were frozen");
        }

        foreach (var key in new[] { "layer2.0.conv1.weight", "layer2.0.bn1.weight", "layer2.0.bn1.running_mean", "layer3.0.convs.0.weight", "fc.weight" })
        {
            Assert.False(before[key].Data.AsSpan().SequenceEqual(after[key].Data), $"{key} did not learn");
        }
    }

    [Fact]
    public void Norm_eval_keeps_every_running_statistic_while_weights_learn()
    {
        using var dir = new TempDir();
        var source = dir.File("start.pth");
        manual_seed(6);
        using (var start = ModelRegistry.Create("res2net_cifar_tiny", 10, 1))
        {
            ModelWeights.Save(start, source);
        }

        var options = Quick(dir.File("out")) with { Epochs = 1, InitialWeights = source, NormEval = true };
        new Trainer(options, Sample).Run();

        var before = CheckpointFile.ReadStateDict(source);
        var after = CheckpointFile.ReadStateDict(dir.File("out/last.pth"));
        var statistics = before.Keys.Where(k => k.EndsWith(".running_mean", StringComparison.Ordinal) || k.EndsWith(".running_var", StringComparison.Ordinal)
            || k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(statistics);
        foreach (var key in statistics)
        {
            Assert.True(before[key].Data.AsSpan().SequenceEqual(after[key].Data), $"{key} changed with norm eval");
        }

        foreach (var key in new[] { "conv1.weight", "bn1.weight", "layer2.0.bns.0.bias", "fc.weight" })
        {
            Assert.False(before[key].Data.AsSpan().SequenceEqual(after[key].Data), $"{key} did not learn");
        }
    }

    [Fact]
    public void Freeze_stages_beyond_the_model_names_the_option()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidOptionException>(() => new Trainer(Quick(dir.File("out")) with { FreezeStages = 4 }, Sample).Run());
        Assert.Equal("FreezeStages", e.Option);
        Assert.Contains("3 stages", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weight_decay_skips_norms_and_biases()
    {
        using var model = ModelRegistry.Create("res2net_cifar_tiny", 10, 1);
        var groups = Optimizer.SplitParameters(model, model.ClassifierKeys.ToHashSet(), 5e-4, 0.1);
        Assert.All(groups.Where(g => g.WeightDecay > 0).SelectMany(g => g.Params), p => Assert.True(p.Param.dim() > 1, p.Key));
        Assert.Contains(groups.Single(g => g.WeightDecay == 0 && g.LrScale == 1).Params, p => p.Key == "fc.bias");
        Assert.Contains(groups.Single(g => g.WeightDecay == 0 && g.LrScale == 0.1).Params, p => p.Key == "bn1.weight");
    }

    [Fact]
    public void Cosine_schedule_warms_up_linearly_then_decays_to_the_minimum()
    {
        var s = new CosineSchedule(0.1, 100, 10, 0.001);
        Assert.Equal(0.01, s.At(0), 9);
        Assert.Equal(0.1, s.At(9), 9);
        Assert.Equal(0.1, s.At(10), 9);
        Assert.Equal(0.0505, s.At(55), 9);
        Assert.Equal(0.001, s.At(100), 9);
    }

    private static string StripTimes(string line)
    {
        var m = JsonSerializer.Deserialize<EpochMetrics>(line)!;
        return JsonSerializer.Serialize(m with { Seconds = 0, ImagesPerSecond = 0 });
    }

    private sealed class StopAt(int epoch, int step, CancellationTokenSource cancel) : ITrainingObserver
    {
        public void Step(StepProgress p)
        {
            if (p.Epoch == epoch && p.Step == step)
            {
                cancel.Cancel();
            }
        }
    }
}
