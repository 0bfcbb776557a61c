using Res2Net.Models;
using Res2Net.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>
/// The models must compute what the official PyTorch code computes: the fixtures hold PyTorch 1.13's outputs of the
/// official blocks for one input, and the checkpoints in both containers.
/// </summary>
public class ParityTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in FixtureModels.Names)
        {
            data.Add(name, ".pth");
            data.Add(name, ".legacy.pth");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Outputs_match_the_official_code(string name, string container)
    {
        using var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + container));
        model.eval();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor();
        var stages = model.ForwardStages(input);
        var report = new List<string>
        {
            Compare(Expected(name, "logits"), model.ForwardHead(stages[^1]), "logits"),
            Compare(Expected(name, "pooled"), model.ForwardHead(stages[^1], preLogits: true), "pooled"),
            Compare(Expected(name, "logits"), model.call(input), "forward"),
            Compare(Expected(name, "pooled"), model.ForwardEmbedding(input), "embedding"),
        };
        for (var s = 0; s < 4; s++)
        {
            report.Add(Compare(Expected(name, $"stage{s + 1}"), stages[s], $"stage{s + 1}"));
        }

        Assert.True(report.All(r => r.EndsWith("ok", StringComparison.Ordinal)), $"{name}{container}: {string.Join("; ", report)}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Parameter_count_keys_and_stage_shapes_match_the_fixture(string name)
    {
        var json = FixtureModels.Json(name);
        using var model = FixtureModels.Config(name).Build();
        Assert.Equal(json.GetProperty("params").GetInt64(), model.ParameterCount());
        var keys = ModelWeights.StateDict(model).Select(e => e.Key).ToList();
        Assert.Equal(json.GetProperty("state_dict_keys").GetInt32(), keys.Count);

        // Same key order as PyTorch's state_dict(), so saved files read the same in both.
        var official = CheckpointFile.ReadStateDict(TestPaths.Fixture(name + ".pth")).Keys.ToList();
        Assert.Equal(official, keys);

        var expectedStages = json.GetProperty("stages").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(d => d.GetInt64()).ToArray()).ToList();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.eval();
        var stages = model.ForwardStages(zeros(2, 3, 64, 64));
        Assert.Equal(expectedStages, stages.Select(s => s.shape).ToList());
        Assert.Equal(expectedStages.Select(s => s[1]), model.Stages.Select(s => (long)s.Channels));
    }

    public static TheoryData<string> Names() => new(FixtureModels.Names);

    private static Tensor Expected(string name, string what) => Npy.Read(TestPaths.Fixture($"{name}.{what}.npy")).ToTensor();

    private static string Compare(Tensor expected, Tensor actual, string what)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            return $"{what} shape [{string.Join(", ", actual.shape)}] != [{string.Join(", ", expected.shape)}]";
        }

        var maxDiff = (expected - actual).abs().max().item<float>();
        return maxDiff <= 1e-4 ? $"{what} {maxDiff:E1} ok" : $"{what} max |diff| {maxDiff:E2} > 1e-4";
    }
}
