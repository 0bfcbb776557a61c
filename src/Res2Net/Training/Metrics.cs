using System.Globalization;
using System.Text.Json;
using Res2Net.IO;

namespace Res2Net.Training;

/// <summary>metrics.jsonl: one JSON object per completed epoch, rewritten up to the checkpoint's epoch on resume.</summary>
internal static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    /// <summary>The largest log read: one line of about 250 bytes per epoch, for the most epochs a run may have.</summary>

    /// <summary>
    /// Writes the epochs so far, the whole log anew through <see cref="AtomicFile"/> (a few KB): a link or FIFO planted
    /// under its name is refused, not written through, and a kill leaves the old log or the new one.
    /// </summary>
    public static void Write(string path, IEnumerable<EpochMetrics> epochs)
    {
        var text = string.Concat(epochs.Select(e => JsonSerializer.Serialize(e) + "\n"));
        AtomicFile.Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    public static List<EpochMetrics> Read(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var text = System.Text.Encoding.UTF8.GetString(InputFiles.ReadAllBytes(path, Limits.MaxMetricsLogBytes, "metrics log"));
        var result = new List<EpochMetrics>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                result.Add(JsonSerializer.Deserialize<EpochMetrics>(line) ?? throw new JsonException("null"));
            }
            catch (JsonException)
            {
                throw new Weights.CheckpointFormatException($"{path}: line {result.Count + 1} is not an epoch's metrics; the log is damaged (move it away to resume).");
            }
        }

        return result;
    }

    /// <summary>Keeps the epochs a resumed checkpoint has completed (a kill may have logged one more).</summary>
    public static List<EpochMetrics> Truncate(string path, int epochsDone)
    {
        var kept = Read(path).Where(m => m.Epoch <= epochsDone).ToList();
        Write(path, kept);
        return kept;
    }

    internal static string Percent(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
}
