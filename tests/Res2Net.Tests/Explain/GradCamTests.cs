using System.Text.Json;
using Res2Net.Explain;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Explain;

/// <summary>Grad-CAM maps, classes and probabilities against the same Grad-CAM computed by PyTorch 1.13 on the official blocks.</summary>
public class GradCamTests
{
    private static readonly JsonElement Cases =
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(Path.Combine("gradcam", "gradcam.json")))).RootElement.GetProperty("cases");

    public static TheoryData<int> Indices() => [.. Enumerable.Range(0, Cases.GetArrayLength())];

    [Theory]
    [MemberData(nameof(Indices))]
    public void Maps_match_pytorchs_grad_cam(int index)
    {
        var c = Cases[index];
        var name = c.GetProperty("model").GetString()!;
        using var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + ".pth"));
        using var scope = NewDisposeScope();
        var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor()[0].unsqueeze(0);
        int? requested = c.GetProperty("requested_class").ValueKind == JsonValueKind.Null ? null : c.GetProperty("requested_class").GetInt32();
        var cam = GradCam.Compute(model, input, requested, c.GetProperty("stage").GetInt32(), i => $"class {i}");

        var expected = Npy.Read(TestPaths.Fixture(Path.Combine("gradcam", c.GetProperty("map").GetString()!)));
        Assert.Equal(c.GetProperty("class").GetInt32(), cam.Class);
        Assert.Equal($"class {cam.Class}", cam.Label);
        Assert.Equal(c.GetProperty("prob").GetDouble(), cam.Prob, 1e-5);
        Assert.Equal(expected.Shape, new long[] { cam.MapHeight, cam.MapWidth });
        var difference = expected.ToFloatArray().Zip(cam.Map).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(difference < 1e-4, $"{name} case {index}: map differs by {difference}");

        // Where PyTorch rectified every cell for the class first asked for, the map is all zero (no division by 0).
        if (c.TryGetProperty("replaces", out var original))
        {
            int? first = original.GetProperty("requested_class").ValueKind == JsonValueKind.Null ? null : original.GetProperty("requested_class").GetInt32();
            var zero = GradCam.Compute(model, input, first, c.GetProperty("stage").GetInt32(), i => $"class {i}");
            Assert.Equal(original.GetProperty("class").GetInt32(), zero.Class);
            Assert.All(zero.Map, v => Assert.Equal(0f, v));
        }
    }
}
