using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>Stage features against reference .npy files, with one report naming every stage that is off.</summary>
internal static class StageAssert
{
    /// <summary>"ok", or what is off: the shape, or the largest difference beyond 1e-5 of the reference's scale (at least 1).</summary>
    public static string Compare(Tensor expected, Tensor actual)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            return $"shape [{string.Join(", ", actual.shape)}] != [{string.Join(", ", expected.shape)}]";
        }

        var scale = Math.Max(1f, expected.abs().max().item<float>());
        var maxDiff = (expected - actual).abs().max().item<float>();
        return maxDiff <= 1e-5f * scale ? "ok" : $"max |diff| {maxDiff:E2} (scale {scale:G3})";
    }

    /// <summary>Stages c2..c5 against the fixtures <c>{prefix}.c2.npy</c> ... <c>{prefix}.c5.npy</c>.</summary>
    public static void Equal(string prefix, IReadOnlyList<Tensor> stages, string path)
    {
        var report = new List<string>();
        for (var s = 0; s < 4; s++)
        {
            var expected = Npy.Read(TestPaths.Fixture($"{prefix}.c{s + 2}.npy")).ToTensor();
            report.Add($"c{s + 2} {Compare(expected, stages[s])}");
        }

        Assert.True(report.All(r => r.EndsWith("ok", StringComparison.Ordinal)), $"{prefix} {path}: {string.Join("; ", report)}");
    }
}
