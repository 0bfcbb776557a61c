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
}
