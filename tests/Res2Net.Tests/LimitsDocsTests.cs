using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace Res2Net.Tests;

/// <summary>docs/limits.md lists every bound of Res2Net.Limits by name and value, and nothing else under that heading.</summary>
public partial class LimitsDocsTests
{
    [Fact]
    public void Docs_list_every_limit_with_its_value_and_no_other()
    {
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "limits.md"));
        var section = docs[docs.IndexOf("## Every bound", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var documented = Row().Matches(section).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var constants = typeof(Limits).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral)
            .ToDictionary(f => f.Name, f => Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture).ToString("N0", CultureInfo.InvariantCulture));
        Assert.Equal(constants.Keys.Order(), documented.Keys.Order());
        Assert.All(constants, c => Assert.Equal(c.Value, documented[c.Key]));
    }

    [GeneratedRegex(@"^\| `(\w+)` \| ([\d,]+) \|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
