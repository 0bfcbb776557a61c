using System.Text;
using System.Text.Json.Nodes;
using Res2Net.IO;
using Res2Net.Training;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Training;

/// <summary>Training progress is never lost, and a damaged or foreign state is refused by name before anything runs.</summary>
public class TrainingStateTests
{
    private static readonly DatasetSplits Sample = DatasetLoader.LoadEmbeddedSample();

    [Fact]
    public void A_stop_in_the_first_epoch_saves_a_state_that_resumes()
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        var stopped = new Trainer(TrainerTests.Quick(dir.Path), Sample, new StopAt(cancel)).Run(cancel.Token);
        Assert.True(stopped.Cancelled);
        Assert.True(File.Exists(dir.File("last.state")));
        var resumed = new Trainer(TrainerTests.Quick(dir.Path) with { Resume = true }, Sample).Run();
        Assert.False(resumed.Cancelled);
        Assert.Equal(2, resumed.Epochs.Count);
    }

    [Theory]
    [InlineData("EpochsDone", "2147483647")]
    [InlineData("EpochsDone", "-3")]
    [InlineData("StepInEpoch", "-1")]
    [InlineData("OptimizerSteps", "-5")]
    [InlineData("BestTop1", "250")]
    [InlineData("NumClasses", "0")]
    [InlineData("ImageSize", "100000")]
    public void A_progress_field_out_of_range_is_named(string field, string value)
    {
        using var dir = new TempDir();
        var state = SavedState(dir);
        Rewrite(state, json => json[field] = JsonNode.Parse(value));
        var e = Assert.Throws<CheckpointFormatException>(() => new Trainer(TrainerTests.Quick(dir.Path) with { Resume = true }, Sample).Run());
        Assert.Equal($"{state}: its progress field {field} is {value}, which no run writes; the state is damaged (train afresh without resuming, or restore a copy).", e.Message);
    }

    [Fact]
    public void Damaged_progress_json_a_future_format_and_optimizer_entries_of_another_shape_are_refused()
    {
        using var dir = new TempDir();
        var state = SavedState(dir);
        var original = File.ReadAllBytes(state);

        Rewrite(state, json => json["Format"] = 999);
        Assert.Equal($"{state}: it is a training state of format 999; this version reads format 1.",
            Assert.Throws<CheckpointFormatException>(() => Resume(dir)).Message);

        File.WriteAllBytes(state, original);
        var all = CheckpointFile.ReadStateDict(state).ToDictionary();
        all["progress_json"] = new TensorData(DType.UInt8, [5], Encoding.ASCII.GetBytes("{oops"));
        PyTorchCheckpoint.WriteStateDict(state, [.. all]);
        Assert.StartsWith($"{state}: its progress_json entry is not the progress of a run", Assert.Throws<CheckpointFormatException>(() => Resume(dir)).Message, StringComparison.Ordinal);

        File.WriteAllBytes(state, original);
        all = CheckpointFile.ReadStateDict(state).ToDictionary();
        var key = all.Keys.First(k => k.StartsWith("optim.", StringComparison.Ordinal));
        all[key] = new TensorData(DType.Float32, [3], new byte[12]);
        PyTorchCheckpoint.WriteStateDict(state, [.. all]);
        var e = Assert.Throws<CheckpointFormatException>(() => Resume(dir));
        Assert.StartsWith($"{state}: its optimizer entry '{key["optim.".Length..]}' is Float32 [3], not Float32 [", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_optimizer_steps_than_the_run_took_or_a_missing_optimizer_state_are_refused()
    {
        using var dir = new TempDir();
        var state = SavedState(dir);
        var original = File.ReadAllBytes(state);
        Rewrite(state, json => json["OptimizerSteps"] = 9_000_000_000_000_000_000);
        Assert.Equal($"{state}: it records 9,000,000,000,000,000,000 optimizer steps after 0 epochs and 2 steps of 4; it is not the state of a run on this data.",
            Assert.Throws<CheckpointFormatException>(() => Resume(dir)).Message);

        File.WriteAllBytes(state, original);
        var all = CheckpointFile.ReadStateDict(state).ToDictionary();
        PyTorchCheckpoint.WriteStateDict(state, [.. all.Where(e => !e.Key.StartsWith("optim.", StringComparison.Ordinal))]);
        Assert.StartsWith($"{state}: its optimizer state lacks '", Assert.Throws<CheckpointFormatException>(() => Resume(dir)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_runs_cannot_write_one_folder()
    {
        using var dir = new TempDir();
        using var cancel = new CancellationTokenSource();
        var first = new Trainer(TrainerTests.Quick(dir.Path), Sample, new StopAt(cancel, wait: TimeSpan.FromSeconds(3)));
        var running = Task.Run(() => first.Run(cancel.Token));
        await Task.Delay(1000);
        var e = Assert.Throws<Res2NetException>(() => new Trainer(TrainerTests.Quick(dir.Path), Sample).Run());
        Assert.Equal($"{dir.Path}: the folder is in use by another training run (process {Environment.ProcessId}); wait for it to end or choose another folder.", e.Message);
        await running;
    }

    [Fact]
    public void Outputs_are_not_written_through_symbolic_links()
    {
        using var dir = new TempDir();
        var victim = dir.File("victim.txt");
        File.WriteAllText(victim, "keep me");
        var link = dir.File("out.npy");
        File.CreateSymbolicLink(link, victim);
        var e = Assert.Throws<Res2NetException>(() => AtomicFile.WriteAllBytes(link, [1, 2, 3]));
        Assert.Equal($"{link}: the output is a symbolic link; it is not written through (remove the link or give another path).", e.Message);
        Assert.Equal("keep me", File.ReadAllText(victim));

        var dangling = dir.File("dangling.npy");
        File.CreateSymbolicLink(dangling, dir.File("would-be-created"));
        Assert.Throws<Res2NetException>(() => AtomicFile.WriteAllBytes(dangling, [1]));
        Assert.False(File.Exists(dir.File("would-be-created")));
        Assert.Equal(["dangling.npy", "out.npy", "victim.txt"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    private static void Resume(TempDir dir) => new Trainer(TrainerTests.Quick(dir.Path) with { Resume = true }, Sample).Run();

    /// <summary>A state saved by a run stopped at its second step.</summary>
    private static string SavedState(TempDir dir)
    {
        using var cancel = new CancellationTokenSource();
        new Trainer(TrainerTests.Quick(dir.Path), Sample, new StopAt(cancel)).Run(cancel.Token);
        return dir.File("last.state");
    }

    private static void Rewrite(string state, Action<JsonObject> change)
    {
        var all = CheckpointFile.ReadStateDict(state).ToDictionary();
        var json = JsonNode.Parse(all["progress_json"].Data)!.AsObject();
        change(json);
        var bytes = Encoding.UTF8.GetBytes(json.ToJsonString());
        all["progress_json"] = new TensorData(DType.UInt8, [bytes.Length], bytes);
        PyTorchCheckpoint.WriteStateDict(state, [.. all]);
    }

    /// <summary>Cancels at the second step of the first epoch (after waiting a while, if asked).</summary>
    private sealed class StopAt(CancellationTokenSource cancel, TimeSpan wait = default) : ITrainingObserver
    {
        public void Step(StepProgress p)
        {
            if (p.Epoch == 1 && p.Step == 2)
            {
                Thread.Sleep(wait);
                cancel.Cancel();
            }
        }
    }
}
