using System.Text.Json;
using Onnx;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Tests.Cli;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Export;

/// <summary>The export and bench commands as users run them (smallest registered model, small inputs, short runs).</summary>
public class ExportCliTests
{
    [Fact]
    public void Export_writes_a_valid_graph_with_the_requested_shape()
    {
        using var dir = new TempDir();
        var file = dir.File("dla.onnx");
        var r = CliRunner.Run("export", "--model", "res2next_dla60", "--fresh", "--output", file, "--opset", "13", "--batch", "2", "--size", "64");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
        OnnxExportTests.AssertValid(proto, 13);
        Assert.Equal([2L, 3, 64, 64], proto.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.Equal(["logits", "embedding"], proto.Graph.Output.Select(o => o.Name));
    }

    [Theory]
    [InlineData("--batch", "none", "res2net: error: --batch must be 'dynamic' or a positive number (got 'none').\n")]
    [InlineData("--opset", "7", "res2net: error: --opset must be from 13 to 21 (got 7).\n")]
    public void Export_refuses_bad_options_in_one_line(string option, string value, string expected)
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("export", "--model", "res2next_dla60", "--fresh", "--output", dir.File("x.onnx"), option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("onnx")]
    public void Bench_reports_exactly_the_documented_keys(string engine)
    {
        var r = CliRunner.Run("bench", "--model", "res2next_dla60", "--engine", engine, "--batch", "2", "--size", "64", "--threads", "1",
            "--seconds", "0.2", "--format", "json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var json = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal(["model", "engine", "batch", "images_per_second", "median_ms", "p95_ms", "peak_rss_mb", "gflops", "precision", "what"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("fp32", json.GetProperty("precision").GetString());
        Assert.Equal(engine, json.GetProperty("engine").GetString());
        Assert.Equal(2, json.GetProperty("batch").GetInt32());
        Assert.True(json.GetProperty("images_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("p95_ms").GetDouble() >= json.GetProperty("median_ms").GetDouble());
        Assert.True(json.GetProperty("peak_rss_mb").GetDouble() > 50);
        Assert.True(json.GetProperty("gflops").GetDouble() > 0);
    }

    [Fact]
    public void Bench_runs_bfloat16_on_the_torch_engine_and_refuses_it_on_onnx()
    {
        var onnx = CliRunner.Run("bench", "--model", "res2net_small", "--engine", "onnx", "--precision", "bf16", "--size", "32", "--seconds", "0.2");
        Assert.Equal(2, onnx.ExitCode);
        Assert.Equal("res2net: error: --precision must be fp32 or int8 on the ONNX engine: ONNX Runtime has no bfloat16 convolution kernels for x86 CPUs (bf16 runs on the torch engine).\n",
            onnx.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));

        var r = CliRunner.Run("bench", "--model", "res2net_small", "--engine", "torch", "--precision", "bf16", "--batch", "2", "--size", "32",
            "--threads", "1", "--seconds", "0.2", "--format", "json");
        if (!Precisions.CpuHasBFloat16)
        {
            Assert.Equal(2, r.ExitCode);
            Assert.Equal("res2net: error: --precision must be fp32 on this CPU: bf16 needs AVX-512 BF16 or AMX instructions, and it has neither.\n",
                r.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
            return;
        }

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("bf16", JsonDocument.Parse(r.StdOut).RootElement.GetProperty("precision").GetString());
    }

    [Fact]
    public void Int8_export_needs_calibration_and_reports_a_damaged_photo_by_name()
    {
        using var dir = new TempDir();
        var none = CliRunner.Run("export", "--model", "res2net_small", "--fresh", "--size", "32", "--int8", "--output", dir.File("x.onnx"));
        Assert.Equal(2, none.ExitCode);
        Assert.Equal("res2net: error: --int8 needs --calibrate with images or .npy batches, and a fixed --size.\n",
            none.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.False(File.Exists(dir.File("x.onnx")));

        // The fixture photos include truncated.jpg: named on stderr, the others calibrate, the file is written, exit 1.
        var r = CliRunner.Run("export", "--model", "res2net_small", "--fresh", "--size", "32", "--int8",
            "--calibrate", Path.Combine(TestPaths.Fixtures, "images"), "--output", dir.File("q.onnx"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("truncated.jpg: the image is damaged or truncated", r.StdErr);
        Assert.Contains("INT8, calibrated on 6 images", r.StdErr);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(dir.File("q.onnx")));
        OnnxExportTests.AssertValid(proto, 17);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "QuantizeLinear");
    }

    [Fact]
    public void Evaluate_gives_the_same_numbers_on_a_checkpoint_and_on_its_onnx_export()
    {
        using var dir = new TempDir();
        using (var model = ModelRegistry.Create("res2net_small", numClasses: 10, inChannels: 1))
        {
            ModelWeights.Save(model, dir.File("w.pth"));
        }

        var export = CliRunner.Run("export", "--model", "res2net_small", "--weights", dir.File("w.pth"), "--size", "28", "--output", dir.File("w.onnx"));
        Assert.True(export.ExitCode == 0, export.StdErr);
        var torch = CliRunner.Run("evaluate", "--model", "res2net_small", "--weights", dir.File("w.pth"), "--format", "json");
        var onnx = CliRunner.Run("evaluate", "--model", "res2net_small", "--onnx", dir.File("w.onnx"), "--format", "json");
        Assert.True(torch.ExitCode == 0 && onnx.ExitCode == 0, torch.StdErr + onnx.StdErr);
        var a = JsonDocument.Parse(torch.StdOut).RootElement;
        var b = JsonDocument.Parse(onnx.StdOut).RootElement;
        Assert.Equal(1000, b.GetProperty("images").GetInt32());
        Assert.Equal(a.GetProperty("top1").GetDouble(), b.GetProperty("top1").GetDouble());
        Assert.Equal(a.GetProperty("loss").GetDouble(), b.GetProperty("loss").GetDouble(), 4);

        var both = CliRunner.Run("evaluate", "--model", "res2net_small", "--onnx", dir.File("w.onnx"), "--weights", dir.File("w.pth"));
        Assert.Equal(2, both.ExitCode);
        Assert.Equal("res2net: error: --onnx and --weights exclude each other (an ONNX file carries its weights).\n", both.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
        var neither = CliRunner.Run("evaluate", "--model", "res2net_small");
        Assert.Equal(2, neither.ExitCode);
        Assert.Equal("res2net: error: Give either --weights (a checkpoint) or --onnx (an ONNX file).\n", neither.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Classify_runs_an_onnx_file_with_the_class_names_beside_it()
    {
        using var dir = new TempDir();
        using (var model = ModelRegistry.Create("res2net_small", numClasses: 3, inChannels: 1))
        {
            ModelWeights.Save(model, dir.File("w.pth"));
        }

        File.WriteAllLines(dir.File("classes.txt"), ["alpha", "beta", "gamma"]);
        Npy.Write(dir.File("x.npy"), TensorData.FromFloats(Enumerable.Range(0, 2 * 28 * 28).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), [2, 1, 28, 28]));
        var export = CliRunner.Run("export", "--model", "res2net_small", "--weights", dir.File("w.pth"), "--size", "28", "--output", dir.File("w.onnx"));
        Assert.True(export.ExitCode == 0, export.StdErr);

        var onnx = CliRunner.Run("classify", "--model", "res2net_small", "--onnx", dir.File("w.onnx"), "--topk", "3", "--format", "json", dir.File("x.npy"));
        var torch = CliRunner.Run("classify", "--model", "res2net_small", "--weights", dir.File("w.pth"), "--topk", "3", "--format", "json", dir.File("x.npy"));
        Assert.True(onnx.ExitCode == 0 && torch.ExitCode == 0, onnx.StdErr + torch.StdErr);
        var a = onnx.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var b = torch.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, a.Count);
        for (var row = 0; row < 2; row++)
        {
            var ta = a[row].GetProperty("top").EnumerateArray().ToList();
            var tb = b[row].GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(tb.Select(t => t.GetProperty("label").GetString()), ta.Select(t => t.GetProperty("label").GetString()));
            Assert.All(ta, t => Assert.Contains(t.GetProperty("label").GetString(), new[] { "alpha", "beta", "gamma" }));
            Assert.Equal(tb[0].GetProperty("prob").GetDouble(), ta[0].GetProperty("prob").GetDouble(), 4);
        }

        var both = CliRunner.Run("classify", "--model", "res2net_small", "--onnx", dir.File("w.onnx"), "--weights", dir.File("w.pth"), dir.File("x.npy"));
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--onnx and --weights exclude each other", both.StdErr);
    }
}
