using System.Text.RegularExpressions;
using Res2Net.Models;

namespace Res2Net.Cli;

/// <summary>
/// Turns the library's errors into the tool's words: the library names its own parameters (BatchSize, weightsPath), the
/// tool names its flags (--batch-size, --weights FILE). One table for every command.
/// </summary>
internal static partial class Errors
{
    /// <summary>Library parameter and option names, and the flag that sets each.</summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["ModelSource.Checkpoint"] = "--weights FILE",
        ["TrainOptions.Resume"] = "--resume",
        ["Source"] = "--model",
        ["BatchSize"] = "--batch-size",
        ["TopK"] = "--topk",
        ["Precision"] = "--precision",
        ["Engine"] = "--engine",
        ["InputSize"] = "--size",
        ["Size"] = "--size",
        ["Height"] = "--size",
        ["Width"] = "--size",
        ["CropPct"] = "--crop-pct",
        ["Stages"] = "--stage",
        ["Threads"] = "--threads",
        ["Epochs"] = "--epochs",
        ["Lr"] = "--lr",
        ["MinLr"] = "--min-lr",
        ["WarmupEpochs"] = "--warmup",
        ["Momentum"] = "--momentum",
        ["WeightDecay"] = "--weight-decay",
        ["LabelSmoothing"] = "--label-smoothing",
        ["CropPadding"] = "--crop-padding",
        ["BackboneLrScale"] = "--backbone-lr-scale",
        ["ImageSize"] = "--image-size",
        ["TrainLimit"] = "--train-limit",
        ["TestLimit"] = "--test-limit",
        ["EvalBatchSize"] = "--batch-size",
        ["Seed"] = "--seed",
        ["OutDir"] = "--out",
        ["Opset"] = "--opset",
        ["Batch"] = "--batch",
        ["OutputStride"] = "--output-stride",
        ["FreezeStages"] = "--freeze-stages",
        ["Style"] = "--block-style",
        ["BlockStyle"] = "--block-style",
        ["GradCam"] = "cam",
        ["MaxDecodeThreads"] = "--decode-threads",
        ["DecodeThreads"] = "--decode-threads",
        ["ClassIndex"] = "--class",
        ["Stage"] = "--stage",
        ["MaxBatch"] = "--max-batch",
        ["MaxDelay"] = "--max-delay-ms",
        ["MaxQueue"] = "--max-queue",
        ["MaxBodyBytes"] = "--max-body-mb",
        ["Timeout"] = "--timeout-s",
    };

    /// <summary>Exit code for input the tool refuses: 2 for the command line itself, 1 for files and everything else.</summary>
    public static int ExitCode(Exception e) => e is InvalidOptionException or UnknownModelException or UsageException ? Run.Usage : Run.Failed;

    /// <summary>The one sentence the tool prints for a library error.</summary>
    public static string Describe(Res2NetException e) => e switch
    {
        InvalidOptionException o when Flags.TryGetValue(o.Option, out var flag) => $"{flag} {o.Problem}.",
        UnknownModelException { Suggestions.Count: > 0 } u when u.Message.StartsWith("Unknown model", StringComparison.Ordinal) =>
            $"Unknown model '{u.Name}'; did you mean {string.Join(", ", u.Suggestions)}? ('res2net models' lists all).",
        _ => Translate(e.Message),
    };

    /// <summary>Replaces library parameter names in a sentence with the flags that set them.</summary>
    public static string Translate(string message) =>
        Word().Replace(message, m => Flags.TryGetValue(m.Groups[1].Value, out var flag) ? flag : m.Value);

    // Only the names the library uses inside sentences: ModelSource.Checkpoint, and options as TrainOptions.Resume.
    [GeneratedRegex(@"\b(ModelSource\.Checkpoint|TrainOptions\.Resume)\b")]
    private static partial Regex Word();
}
