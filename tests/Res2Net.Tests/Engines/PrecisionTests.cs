using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Engines;

/// <summary>bfloat16 on the torch engine, against the float32 numbers PyTorch made for the fixtures.</summary>
public class PrecisionTests
{
    public static TheoryData<string> Names() => [.. FixtureModels.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void Bfloat16_logits_and_embeddings_stay_close_to_pytorchs_float32(string name)
    {
        if (!Precisions.CpuHasBFloat16)
        {
            Assert.Throws<InvalidOptionException>(() => new TorchEngine(FixtureModels.Config(name).Build(), precision: Precision.BFloat16));
            return;
        }

        var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + ".pth"));
        using var engine = new TorchEngine(model, precision: Precision.BFloat16);
        Assert.Equal(ScalarType.BFloat16, model.parameters().First().dtype);

        using var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor();
        using var logits = engine.Logits(input);
        using var pooled = engine.Features(input, FeatureStage.Pooled);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        using var expectedLogits = Npy.Read(TestPaths.Fixture(name + ".logits.npy")).ToTensor();
        using var expectedPooled = Npy.Read(TestPaths.Fixture(name + ".pooled.npy")).ToTensor();

        // bfloat16 keeps 8 bits of mantissa (relative step 0.4%): measured 0.3-0.6% here, 2.8% for the deepest (DLA).
        var logitError = (logits - expectedLogits).abs().max().item<float>() / expectedLogits.abs().max().item<float>();
        Assert.True(logitError < 0.05, $"{name}: largest logit error {logitError:P2} of the largest logit");
        var cosine = nn.functional.cosine_similarity(pooled, expectedPooled, dim: 1).min().item<float>();
        Assert.True(cosine > 0.999, $"{name}: embedding cosine {cosine}");
        Assert.Equal(expectedLogits.argmax(1).data<long>().ToArray(), logits.argmax(1).data<long>().ToArray());
    }

    [Fact]
    public void Onnx_runtime_has_no_bfloat16_and_says_so()
    {
        var model = FixtureModels.Config("res2net_tiny_s4").Build();
        var e = Assert.Throws<InvalidOptionException>(() => TestEngines.FromModel(model, EngineKind.Onnx, Precision.BFloat16));
        Assert.Equal("Precision", e.Option);
        Assert.Equal("Precision must be fp32 or int8 on the ONNX engine: ONNX Runtime has no bfloat16 convolution kernels for x86 CPUs (bf16 runs on the torch engine).", e.Message);
        model.Dispose();
        Assert.Equal(Precision.BFloat16, Precisions.Parse("bf16"));
        Assert.Throws<InvalidOptionException>(() => Precisions.Parse("fp8"));
    }
}
