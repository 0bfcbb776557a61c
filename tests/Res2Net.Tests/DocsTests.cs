using System.Globalization;
using Res2Net.Models;
using Xunit;

namespace Res2Net.Tests;

/// <summary>The code people copy from the docs is code that compiles (scripts/check-packages.sh builds the samples).</summary>
public class DocsTests
{
    [Fact]
    public void The_library_tour_in_the_docs_is_the_compiled_sample()
    {
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "models.md")).ReplaceLineEndings("\n");
        var sample = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "samples", "Tour", "Program.cs")).ReplaceLineEndings("\n");
        const string Marker = "<!-- samples/Tour/Program.cs";
        var start = docs.IndexOf("```csharp\n", docs.IndexOf(Marker, StringComparison.Ordinal), StringComparison.Ordinal) + "```csharp\n".Length;
        var end = docs.IndexOf("```\n", start, StringComparison.Ordinal);
        Assert.Equal(sample, docs[start..end]);
    }

    [Fact]
    public void The_model_table_in_the_docs_is_the_registry()
    {
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "models.md")).ReplaceLineEndings("\n");
        var start = docs.IndexOf("| name | aliases | params |", StringComparison.Ordinal);
        var rows = docs[start..docs.IndexOf("\n\n", start, StringComparison.Ordinal)].Split('\n')[2..]
            .Select(r => r.Trim('|').Split('|').Select(c => c.Trim()).ToArray()).ToList();
        Assert.Equal(ModelRegistry.ImageNet.Select(m => m.Name), rows.Select(r => r[0]));
        string Or(string? text) => string.IsNullOrEmpty(text) ? "-" : text;
        foreach (var (info, row) in ModelRegistry.ImageNet.Zip(rows))
        {
            var w = info.Pretrained;
            var c = CultureInfo.InvariantCulture;
            string[] expected =
            [
                info.Name, Or(string.Join(", ", info.Aliases)), info.Official.Params!.Value.ToString("N0", c), row[3],
                info.Official.GMacs?.ToString(c) ?? "-", w.FirstOrDefault()?.Top1Error?.ToString(c) ?? "-",
                Or(string.Join(", ", w.Select(p => p.Name))), Or(string.Join(", ", w.Select(p => p.License).Distinct())),
                Or(string.Join(", ", w.Select(p => p.MaxBytes.ToString("N0", c)))),
            ];
            Assert.Equal(expected, row);
        }
    }
}
