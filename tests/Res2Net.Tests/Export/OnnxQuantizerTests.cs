using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Export;

/// <summary>INT8 (QDQ) graphs: valid, run on ONNX Runtime's integer kernels, and stay close to the float32 model.</summary>
public class OnnxQuantizerTests
{
    [Theory]
    [InlineData("res2net_tiny_s4")]
    [InlineData("res2net_v1b_tiny")]
    [InlineData("res2next_tiny")]
    [InlineData("res2net_dla_tiny")]
    public void Quantized_fixture_models_keep_their_answers_and_run_integer_convolutions(string name)
    {
        using var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + ".pth"));
        model.eval();
        var input = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy"));
        using var exported = OnnxExporter.Build(model, new OnnxExportOptions { Size = 64 });
        var fp32 = exported.Proto;
        var ranges = OnnxQuantizer.Calibrate(fp32, [new FloatTensor(input.ToFloatArray(), input.Shape)]);
        var int8 = OnnxQuantizer.Quantize(fp32, ranges);
        OnnxExportTests.AssertValid(int8, 17);

        // Every convolution whose input is an activation gets int8 weights (the DLA classifier, on pooled features, stays float).
        var convs = fp32.Graph.Node.Count(n => n.OpType == "Conv");
        var dequantized = int8.Graph.Node.Where(d => d.OpType == "DequantizeLinear").Select(d => d.Output[0]).ToHashSet();
        var quantizedConvs = int8.Graph.Node.Count(n => n.OpType == "Conv" && dequantized.Contains(n.Input[1]));
        Assert.Equal(name.Contains("dla", StringComparison.Ordinal) ? convs - 1 : convs, quantizedConvs);

        // ONNX Runtime turns every one of them into QLinearConv (VNNI kernels where the CPU has them).
        using var dir = new TempDir();
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = dir.File("opt.onnx") })
        using (new InferenceSession(int8.ToByteArray(), options))
        {
        }

        var optimized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(dir.File("opt.onnx")));
        Assert.Equal(quantizedConvs, optimized.Graph.Node.Count(n => n.OpType == "QLinearConv"));

        using var x = input.ToTensor();
        using var reference = OnnxEngine.FromBytes(fp32.ToByteArray());
        using var quantized = OnnxEngine.FromBytes(int8.ToByteArray());
        using var expected = reference.Logits(x);
        using var actual = quantized.Logits(x);
        Assert.Equal(expected.argmax(1).data<long>().ToArray(), actual.argmax(1).data<long>().ToArray());
        var error = (actual - expected).abs().max().item<float>() / expected.abs().max().item<float>();
        Assert.True(error < 0.1, $"{name}: largest logit error {error:P1} of the largest logit");
        using var pooledExpected = reference.Features(x, FeatureStage.Pooled);
        using var pooled = quantized.Features(x, FeatureStage.Pooled);
        var cosine = nn.functional.cosine_similarity(pooled, pooledExpected, dim: 1).min().item<float>();
        Assert.True(cosine > 0.99, $"{name}: embedding cosine {cosine}");
        Console.Error.WriteLine($"{name}: logit error {error:P2}, cosine {cosine}");
    }
}
