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

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

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
        if (!all.TryGetValue(ProgressKey, out var meta) || meta.DType != DType.UInt8)
        {
            throw new InvalidDataException($"{path} is not a res2net training state: it has no {ProgressKey} entry.");
        }

        var progress = JsonSerializer.Deserialize<TrainingProgress>(meta.Data, JsonOptions)
            ?? throw new InvalidDataException($"{path}: its {ProgressKey} entry is empty.");
        var model = all.Where(e => e.Key.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(e => e.Key[6..], e => e.Value);
        var optim = all.Where(e => e.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(e => e.Key[6..], e => e.Value);
        return (progress, model, optim);
    }
}
