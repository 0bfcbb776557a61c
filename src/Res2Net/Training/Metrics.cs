using System.Globalization;
using Res2Net.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Res2Net.Training;

/// <summary>Loss and accuracy of a model on a dataset (accuracies in percent).</summary>
public sealed record EvalResult(double Top1, double Top5, double Loss, int Images);

/// <summary>One line of metrics.jsonl.</summary>
public sealed record EpochMetrics(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("train_top1")] double TrainTop1,
    [property: JsonPropertyName("val_loss")] double ValLoss,
    [property: JsonPropertyName("val_top1")] double ValTop1,
    [property: JsonPropertyName("val_top5")] double ValTop5,
    [property: JsonPropertyName("lr")] double Lr,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("images_per_second")] double ImagesPerSecond);

/// <summary>metrics.jsonl: one JSON object per completed epoch, rewritten up to the checkpoint's epoch on resume.</summary>
public static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    public static void Append(string path, EpochMetrics m) =>
        File.AppendAllText(path, JsonSerializer.Serialize(m) + "\n");

    public static List<EpochMetrics> Read(string path) =>
        !File.Exists(path)
            ? []
            : File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<EpochMetrics>(l)
                ?? throw new InvalidDataException($"{path} has an empty line.")).ToList();

    /// <summary>Keeps the epochs a resumed checkpoint has completed (a kill may have logged one more).</summary>
    public static List<EpochMetrics> Truncate(string path, int epochsDone)
    {
        var kept = Read(path).Where(m => m.Epoch <= epochsDone).ToList();
        var text = string.Concat(kept.Select(m => JsonSerializer.Serialize(m) + "\n"));
        AtomicFile.Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
        return kept;
    }

    internal static string Percent(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
}
