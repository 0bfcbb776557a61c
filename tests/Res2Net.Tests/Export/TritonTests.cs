using System.Diagnostics;
using System.Reflection;
using Inference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Tests.Cli;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;
using ModelConfig = Inference.ModelConfig;
using ModelMetadata = Res2Net.Models.ModelMetadata;

namespace Res2Net.Tests.Export;

/// <summary>
/// <c>export --triton</c>: a model repository whose config.pbtxt protoc reads against Triton's own schema
/// (tests/fixtures/reference/triton/model_config.proto), and whose model runs in ONNX Runtime at batch 3.
/// </summary>
public class TritonTests
{
    [Fact]
    public void The_repository_parses_against_tritons_schema_and_runs_at_batch_3()
    {
        using var dir = new TempDir();
        var weights = dir.File("small.pth");
        manual_seed(4);
        using (var model = ModelRegistry.Create("res2net_small"))
        {
            model.ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
            ModelWeights.Save(model, weights);
        }

        var repository = dir.File("models");
        var r = CliRunner.Run("export", "--model", "res2net_small", "--weights", weights, "--triton", repository, "--max-batch", "4");
        Assert.True(r.ExitCode == 0, r.StdErr);

        var folder = Path.Combine(repository, "res2net_small");
        var config = Parse(File.ReadAllText(Path.Combine(folder, "config.pbtxt")));
        Assert.Equal("res2net_small", config.Name);
        Assert.Equal("onnxruntime_onnx", config.Platform);
        Assert.Equal(4, config.MaxBatchSize);
        Assert.Equal([4], config.DynamicBatching.PreferredBatchSize);
        var input = Assert.Single(config.Input);
        Assert.Equal(OnnxEngine.InputName, input.Name);
        Assert.Equal(DataType.TypeFp32, input.DataType);
        Assert.Equal([3L, 32, 32], input.Dims);
        var logits = config.Output.Single(o => o.Name == OnnxEngine.LogitsName);
        Assert.Equal([10L], logits.Dims);
        Assert.Equal("labels.txt", logits.LabelFilename);
        Assert.Equal(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
            File.ReadAllLines(Path.Combine(folder, logits.LabelFilename)));
        var metadata = ModelMetadata.FromJson(config.Parameters[ModelMetadata.Key].StringValue, "config.pbtxt");
        Assert.Equal(32, metadata.Preprocess.InputSize);

        // The model as Triton's ONNX Runtime backend runs it: the names and dims of the configuration, a batch of 3.
        using var session = new InferenceSession(Path.Combine(folder, "1", "model.onnx"));
        manual_seed(9);
        using var batch = randn(3, 3, 32, 32);
        var values = batch.data<float>().ToArray();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(values, [3, 3, 32, 32]))]);
        var outputs = results.ToDictionary(o => o.Name, o => o.AsTensor<float>());
        Assert.Equal(config.Output.Select(o => o.Name).Order(), outputs.Keys.Order());
        foreach (var output in config.Output)
        {
            Assert.Equal([3, .. output.Dims.Select(d => (int)d)], outputs[output.Name].Dimensions.ToArray());
        }

        using var torch = ModelCheckpoint.Read(weights).CreateModel();
        torch.eval();
        using var noGrad = no_grad();
        var expected = torch.call(batch).data<float>().ToArray();
        var actual = outputs[OnnxEngine.LogitsName].ToArray();
        Assert.All(expected.Zip(actual), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4f * Math.Max(1, Math.Abs(p.First))));
    }

    [Fact]
    public void A_fixed_batch_is_refused_in_one_sentence()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("export", "--model", "res2net_small", "--fresh", "--triton", dir.File("models"), "--batch", "2");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("res2net: error: --batch must stay dynamic with --triton (Triton batches requests itself).", r.StdErr.Trim());
    }

    /// <summary>protoc reads the text format against Triton's schema (refusing unknown fields and wrong types); the C# classes compiled from the same schema read protoc's binary.</summary>
    private static ModelConfig Parse(string text)
    {
        var protoc = typeof(TritonTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Protoc").Value!;
        var schema = Path.Combine(TestPaths.Fixtures, "reference", "triton");
        var start = new ProcessStartInfo(protoc)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--encode=inference.ModelConfig", $"--proto_path={schema}", "model_config.proto" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(text);
        process.StandardInput.Close();
        using var binary = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(binary);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"protoc refused config.pbtxt: {stderr.Result}");
        return ModelConfig.Parser.ParseFrom(binary.ToArray());
    }
}
