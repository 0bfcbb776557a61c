using System.Text;
using System.Text.Json;
using Res2Net.Weights;
using static TorchSharp.torch;

namespace Res2Net.Training;

/// <summary>Where a run stands: enough to continue it exactly (with the model and optimizer tensors beside it).</summary>
internal sealed record TrainingProgress
{
    public int Format { get; init; } = 1;

    public required string Model { get; init; }

    public required int NumClasses { get; init; }

    public required int InChannels { get; init; }

    public required int ImageSize { get; init; }

    /// <summary>Epochs fully completed (evaluated and logged).</summary>
    public required int EpochsDone { get; init; }

    /// <summary>Steps of the next epoch already taken (non-zero only after a Ctrl-C inside an epoch).</summary>
    public int StepInEpoch { get; init; }

    public double PartialLossSum { get; init; }

    public long PartialCorrect { get; init; }

    public long PartialSeen { get; init; }

    public double PartialSeconds { get; init; }

    public required long OptimizerSteps { get; init; }

    public required double BestTop1 { get; init; }

    public required int BestEpoch { get; init; }

    /// <summary>
    /// The seed every random draw derives from: shuffling and augmentation use a generator seeded from (seed, epoch,
    /// step), so the position in the run is the whole random state and nothing else has to be stored.
    /// </summary>
    public required int Seed { get; init; }

    public required double ElapsedSeconds { get; init; }

    /// <summary>The options the run started with (a resumed run keeps them).</summary>
    public required TrainOptionsSnapshot Options { get; init; }

    /// <summary>Checks every field against what a run can write; the first one out of range is named in one sentence.</summary>
    /// <exception cref="CheckpointFormatException">A field holds a value no run writes.</exception>
    public void Check(string source)
    {
        if (Format != 1)
        {
            throw new CheckpointFormatException($"{source}: it is a training state of format {Format}; this version reads format 1.");
        }

        var o = Options ?? throw new CheckpointFormatException($"{source}: its progress has no options; the state is damaged.");
        Field(Models.ModelRegistry.TryGet(Model, out _) && Model == o.Model, "Model", $"'{Model}'");
        Field(NumClasses is >= 1 and <= Limits.MaxClasses, "NumClasses", NumClasses);
        Field(InChannels is >= 1 and <= Limits.MaxInChannels, "InChannels", InChannels);
        Field(ImageSize is >= 8 and <= 1024, "ImageSize", ImageSize);
        Field(EpochsDone is >= 0 and < 100_000, "EpochsDone", EpochsDone);
        Field(StepInEpoch >= 0, "StepInEpoch", StepInEpoch);
        Field(PartialSeen >= 0, "PartialSeen", PartialSeen);
        Field(PartialCorrect >= 0 && PartialCorrect <= PartialSeen, "PartialCorrect", PartialCorrect);
        Field(Finite(PartialLossSum), "PartialLossSum", PartialLossSum);
        Field(Finite(PartialSeconds), "PartialSeconds", PartialSeconds);
        Field(Finite(ElapsedSeconds), "ElapsedSeconds", ElapsedSeconds);
        Field(OptimizerSteps >= 0, "OptimizerSteps", OptimizerSteps);
        Field(double.IsNegativeInfinity(BestTop1) || BestTop1 is >= 0 and <= 100, "BestTop1", BestTop1);
        Field(BestEpoch >= 0 && BestEpoch <= EpochsDone, "BestEpoch", BestEpoch);
        Field(o.BatchSize is >= 1 and <= 65_536, "Options.BatchSize", o.BatchSize);
        Field(o.PeakLr > 0 && o.PeakLr < 1e3, "Options.PeakLr", o.PeakLr);
        Field(Finite(o.MinLr), "Options.MinLr", o.MinLr);
        Field(Finite(o.WarmupEpochs), "Options.WarmupEpochs", o.WarmupEpochs);
        Field(Finite(o.WeightDecay), "Options.WeightDecay", o.WeightDecay);
        Field(Finite(o.BackboneLrScale), "Options.BackboneLrScale", o.BackboneLrScale);
        Field(o.Momentum is >= 0 and < 1, "Options.Momentum", o.Momentum);
        Field(o.LabelSmoothing is >= 0 and < 1, "Options.LabelSmoothing", o.LabelSmoothing);
        Field(o.CropPadding is >= 0 and <= 64, "Options.CropPadding", o.CropPadding);
        Field(o.TrainLimit is null or >= 1, "Options.TrainLimit", o.TrainLimit);
        Field(o.FreezeStages is null or (>= 0 and <= 4), "Options.FreezeStages", o.FreezeStages);

        void Field(bool ok, string name, object? value)
        {
            if (!ok)
            {
                throw new CheckpointFormatException(
                    $"{source}: its progress field {name} is {value ?? "null"}, which no run writes; the state is damaged (train afresh without resuming, or restore a copy).");
            }
        }

        static bool Finite(double v) => double.IsFinite(v) && v >= 0;
    }
}

/// <summary>The options that decide the numbers of a run, as stored in the checkpoint.</summary>
internal sealed record TrainOptionsSnapshot(string Model, int BatchSize, double PeakLr, double MinLr, double WarmupEpochs,
    OptimizerKind Optimizer, double Momentum, bool Nesterov, double WeightDecay, double LabelSmoothing,
    int CropPadding, bool HorizontalFlip, bool RandomResizedCrop, bool FreezeBackbone, double BackboneLrScale, int? TrainLimit,
    int? FreezeStages = null, bool NormEval = false);

/// <summary>
/// The resumable state file (last.state): a PyTorch zip state dict holding the model (<c>model.*</c>), the optimizer
/// (<c>optim.*</c>) and the progress as UTF-8 JSON in a uint8 tensor (<c>progress_json</c>), so PyTorch can open it too.
/// Written to a temporary file and renamed over the old one: a kill at any instant leaves one whole checkpoint.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string StateFile = "last.state";
    private const string ProgressKey = "progress_json";

    /// <summary>The largest progress record read: it holds a few dozen numbers.</summary>

    // -Infinity is the best top-1 before the first evaluation: a run stopped in its first epoch must save it too.
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Save(string path, nn.Module model, Optimizer optimizer, TrainingProgress progress)
    {
        var entries = new List<KeyValuePair<string, TensorData>>();
        entries.AddRange(ModelWeights.StateDict(model).Select(e => KeyValuePair.Create("model." + e.Key, e.Value.ToTensorData())));
        entries.AddRange(optimizer.StateDict().Select(e => KeyValuePair.Create("optim." + e.Key, e.Value.ToTensorData())));
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(progress, JsonOptions));
        entries.Add(KeyValuePair.Create(ProgressKey, new TensorData(DType.UInt8, [json.Length], json)));
        PyTorchCheckpoint.WriteStateDict(path, entries);
    }

    /// <summary>Reads a state file: its progress, model state dict and optimizer tensors.</summary>
    public static (TrainingProgress Progress, Dictionary<string, TensorData> Model, Dictionary<string, TensorData> Optimizer) Load(string path)
    {
        var all = CheckpointFile.ReadStateDict(path);
        if (!all.TryGetValue(ProgressKey, out var meta) || meta.DType != DType.UInt8 || meta.Shape.Length != 1)
        {
            throw new CheckpointFormatException($"{path} is not a res2net training state: it has no {ProgressKey} entry.");
        }

        if (meta.Data.Length > Limits.MaxTrainingProgressBytes)
        {
            throw new CheckpointFormatException($"{path}: its {ProgressKey} entry is {meta.Data.Length:N0} bytes; a training state's is a few hundred.");
        }

        TrainingProgress? progress;
        try
        {
            progress = JsonSerializer.Deserialize<TrainingProgress>(meta.Data, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"{path}: its {ProgressKey} entry is not the progress of a run ({e.Message.Split(" Path:")[0].TrimEnd('.')}).");
        }

        if (progress is null)
        {
            throw new CheckpointFormatException($"{path}: its {ProgressKey} entry is empty.");
        }

        progress.Check(path);
        var model = all.Where(e => e.Key.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(e => e.Key[6..], e => e.Value);
        var optim = all.Where(e => e.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(e => e.Key[6..], e => e.Value);
        return (progress, model, optim);
    }
}
