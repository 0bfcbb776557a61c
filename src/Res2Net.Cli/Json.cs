using System.Globalization;
using System.Text.Json;

namespace Res2Net.Cli;

internal static class Json
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
}
