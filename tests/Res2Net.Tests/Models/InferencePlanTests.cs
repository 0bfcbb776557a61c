using Res2Net.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>The fast inference path computes the same function as the official blocks.</summary>
public class InferencePlanTests
{
    public static TheoryData<string, bool> Cases() => FixtureModels.NamesWithSwitch();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fixture_outputs_match_the_official_code(string name, bool groupFirstBlocks)
    {
        using var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + ".pth"));
        model.eval();
        model.PrepareInference(groupFirstBlocks);

        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor();
        var stages = model.ForwardStages(input);
        for (var s = 0; s < 4; s++)
        {
            var expected = Npy.Read(TestPaths.Fixture($"{name}.stage{s + 1}.npy")).ToTensor();
            Assert.True((expected - stages[s]).abs().max().item<float>() < 1e-4, $"{name} stage{s + 1}");
        }

        var logits = Npy.Read(TestPaths.Fixture($"{name}.logits.npy")).ToTensor();
        Assert.True((logits - model.call(input)).abs().max().item<float>() < 1e-4, $"{name} logits");
    }

    // Each stem the plan folds: 7x7 with max pool, the deep v1b stem with max pool, the CIFAR 3x3 stem without.
    [Theory]
    [InlineData("res2net50_26w_4s", 160, true)]
    [InlineData("res2net50_14w_8s", 160, true)]
    [InlineData("res2net50_v1b_26w_4s", 160, true)]
    [InlineData("res2net_small", 28, true)]
    [InlineData("res2next29_6cx24wx4s", 32, true)]
    // Every block reading its padded groups through windows of conv1's unpadded map, strided first blocks included,
    // and the last window reaching into the pass-through group (scale 6).
    [InlineData("res2net50_26w_6s", 96, false)]
    public void Full_size_models_agree_with_the_training_path(string name, int size, bool groupFirstBlocks)
    {
        using var model = ModelRegistry.Create(name);
        BatchNormStatistics.Randomise(model);
        model.eval();
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = randn(2, 3, size, size);
        Tensor reference;
        using (no_grad())
        {
            reference = model.ForwardEmbedding(x);
        }

        model.PrepareInference(groupFirstBlocks);
        using var mode = inference_mode();
        var fast = model.ForwardEmbedding(x);
        var relative = ((fast - reference).abs().max() / reference.abs().max()).item<float>();
        Assert.True(relative < 1e-4, $"{name}: relative difference {relative}");
    }

    [Fact]
    public void Loading_weights_after_preparing_refreshes_the_plan()
    {
        using var model = FixtureModels.Config("res2net_tiny_s8").Build();
        model.eval();
        model.PrepareInference();
        ModelWeights.Load(model, TestPaths.Fixture("res2net_tiny_s8.legacy.pth"));
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor();
        var logits = Npy.Read(TestPaths.Fixture("res2net_tiny_s8.logits.npy")).ToTensor();
        Assert.True((logits - model.call(input)).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Training_drops_the_plan_and_gradients_never_use_it()
    {
        using var model = FixtureModels.Config("res2net_tiny_s4").Build();
        model.eval();
        model.PrepareInference();
        var blocks = model.modules().OfType<Bottle2neck>().ToList();
        Assert.All(blocks, b => Assert.True(b.HasInferencePlan));
        Assert.True(model.HasStemInferencePlan);
        model.train();
        Assert.All(blocks, b => Assert.False(b.HasInferencePlan));
        Assert.False(model.HasStemInferencePlan);
    }
}
