using System.Globalization;

namespace Res2Net.Client.Internal;

/// <summary>Reads the classification extension's "score:index[:label]" strings.</summary>
internal static class ClassificationParser
{
    public static bool TryParse(string entry, out ClassScore score)
    {
        score = null!;

        // At most 3 parts: a label may itself contain ':'.
        var parts = entry.Split(':', 3);
        if (parts.Length < 2
            || !TryParseScore(parts[0], out var value)
            || !int.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
        {
            return false;
        }

        // A label file written on Windows leaves a '\r' behind each label (Triton's own tests strip it too).
        var label = parts.Length == 3 ? parts[2].TrimEnd('\r') : null;
        score = new ClassScore(index, string.IsNullOrEmpty(label) ? null : label, value);
        return true;
    }

    private static bool TryParseScore(string text, out double value)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        // C's printf, which Triton's std::to_string uses, writes "nan", "-nan", "inf" and "-inf".
        var t = text.Trim().ToLowerInvariant();
        value = t switch
        {
            "nan" or "-nan" => double.NaN,
            "inf" or "+inf" or "infinity" => double.PositiveInfinity,
            "-inf" or "-infinity" => double.NegativeInfinity,
            _ => 0,
        };
        return t is "nan" or "-nan" or "inf" or "+inf" or "infinity" or "-inf" or "-infinity";
    }
}
