using System.Globalization;
using System.Text.Json;
using Res2Net.IO;

namespace Res2Net.Training;

/// <summary>metrics.jsonl: one JSON object per completed epoch, rewritten up to the checkpoint's epoch on resume.</summary>
internal static class MetricsLog
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
