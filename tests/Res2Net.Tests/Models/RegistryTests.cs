using System.Text.Json;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

public class RegistryTests
{
    // The official parameter counts (issue table, from the official repository).
    public static TheoryData<string, long> OfficialParams() => new()
    {
        { "res2net50_26w_4s", 25_699_120 },
        { "res2net50_48w_2s", 25_287_304 },
        { "res2net50_14w_8s", 25_059_816 },
        { "res2net50_26w_6s", 37_051_448 },
        { "res2net50_26w_8s", 48_403_776 },
        { "res2net101_26w_4s", 45_206_688 },
        { "res2next50", 24_671_464 },
        { "res2net50_v1b_26w_4s", 25_718_352 },
        { "res2net101_v1b_26w_4s", 45_225_920 },
        { "res2net152_v1b_26w_4s", 61_294_480 },
        { "res2net_dla60", 21_145_544 },
        { "res2next_dla60", 17_330_456 },
    };

    [Theory]
    [MemberData(nameof(OfficialParams))]
    public void Parameter_counts_equal_the_official_ones(string name, long expected)
    {
        using var model = ModelRegistry.Create(name);
        Assert.Equal(expected, model.ParameterCount());
        Assert.Equal(name, model.ModelName);
    }

    [Fact]
    public void Every_registered_model_is_checked_against_the_official_table()
    {
        var names = OfficialParams().Select(row => (string)row[0]).ToHashSet();
        Assert.Equal(names.Order(), ModelRegistry.ImageNet.Select(m => m.Name).Order());
    }

    [Fact]
    public void Macs_are_within_three_percent_of_the_official_table()
    {
        // model_zoo.json holds the official figures (and the official URLs) independently of the registry.
        var zoo = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(Path.Combine("reference", "model_zoo.json"))));
        var checkedModels = 0;
        foreach (var entry in zoo.RootElement.GetProperty("models").EnumerateArray())
        {
            var name = entry.GetProperty("name").GetString()!;
            var info = ModelRegistry.Get(name);
            Assert.Equal(entry.GetProperty("weights_url").GetString(), info.Pretrained.FirstOrDefault()?.Url);
            if (entry.GetProperty("gmacs").ValueKind != JsonValueKind.Number)
            {
                continue;
            }

            using var model = info.Create();
            var gmacs = ModelProfiler.Profile(model).GMacs;
            var official = entry.GetProperty("gmacs").GetDouble();
            Assert.True(Math.Abs(gmacs - official) / official <= 0.03, $"{name}: {gmacs:F3} GMACs against the official {official}");
            checkedModels++;
        }

        Assert.Equal(11, checkedModels);
    }

    [Theory]
    [InlineData("res2net50", "res2net50_26w_4s")]
    [InlineData("res2net50d", "res2net50_v1b_26w_4s")]
    [InlineData("RES2NET101_V1B", "res2net101_v1b_26w_4s")]
    [InlineData("res2net101d", "res2net101_v1b_26w_4s")]
    [InlineData("dla60_res2next", "res2next_dla60")]
    public void Aliases_resolve(string alias, string name) => Assert.Equal(name, ModelRegistry.Get(alias).Name);

    [Fact]
    public void Unknown_names_suggest_close_ones()
    {
        var e = Assert.Throws<UnknownModelException>(() => ModelRegistry.Get("res2net50_26w4s"));
        Assert.Contains("res2net50_26w_4s", e.Message);
    }

    [Theory]
    [InlineData("res2net50_26w_4s", "layer1.0.convs.2.weight", new long[] { 26, 26, 3, 3 })]
    [InlineData("res2net50_26w_4s", "layer2.0.downsample.1.weight", new long[] { 512 })]
    [InlineData("res2net50_26w_4s", "bn1.num_batches_tracked", new long[0])]
    [InlineData("res2net50_v1b_26w_4s", "conv1.6.weight", new long[] { 64, 32, 3, 3 })]
    [InlineData("res2net50_v1b_26w_4s", "layer2.0.downsample.1.weight", new long[] { 512, 256, 1, 1 })]
    [InlineData("res2next50", "layer1.0.convs.0.weight", new long[] { 32, 4, 3, 3 })]
    [InlineData("res2net_dla60", "level3.tree1.root.conv.weight", new long[] { 256, 512, 1, 1 })]
    [InlineData("res2next_dla60", "level5.tree1.convs.0.weight", new long[] { 256, 32, 3, 3 })]
    [InlineData("res2net_dla60", "fc.weight", new long[] { 1000, 1024, 1, 1 })]
    public void Keys_and_shapes_follow_the_official_code(string model, string key, long[] shape)
    {
        using var m = ModelRegistry.Create(model);
        var entry = ModelWeights.StateDict(m).Single(e => e.Key == key);
        Assert.Equal(shape, entry.Value.shape);
    }

    [Theory]
    [InlineData(16, new long[] { 2, 2048, 4, 4 })]
    [InlineData(8, new long[] { 2, 2048, 8, 8 })]
    [InlineData(32, new long[] { 2, 2048, 2, 2 })]
    public void Output_stride_dilates_the_last_stages(int outputStride, long[] c5)
    {
        using var model = new Res2NetConfig { Layers = [1, 1, 1, 1], OutputStride = outputStride }.Build();
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var stages = model.ForwardStages(randn(2, 3, 64, 64));
        Assert.Equal(c5, stages[3].shape);
        Assert.Equal(64 / outputStride, 64 / (int)model.Stages[3].Reduction);
    }

    [Fact]
    public void Grayscale_and_class_count_options_build_a_working_model()
    {
        using var model = ModelRegistry.Create("res2net50_26w_4s", numClasses: 7, inChannels: 1);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Assert.Equal(new long[] { 2, 7 }, model.call(randn(2, 1, 64, 64)).shape);
        model.ResetClassifier(0);
        Assert.Equal(new long[] { 2, 2048 }, model.call(randn(2, 1, 64, 64)).shape);
        Assert.DoesNotContain(ModelWeights.StateDict(model), e => e.Key.StartsWith("fc.", StringComparison.Ordinal));
    }
}
