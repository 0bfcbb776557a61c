using System.Globalization;
using System.Text.Json;

namespace Res2Net.Cli;

/// <summary>How the tool writes JSON: invariant culture, and numbers that are not finite as null (JSON has no NaN).</summary>
internal static class Json
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    /// <summary>The value, or null when it is NaN or infinite.</summary>
    public static float? Number(float value) => float.IsFinite(value) ? value : null;

    /// <summary>The value, or null when it is NaN or infinite.</summary>
    public static double? Number(double value) => double.IsFinite(value) ? value : null;
}
