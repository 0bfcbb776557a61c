using System.Text.Json;
using Onnx;
using Res2Net.Tests.Cli;
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
    [InlineData("--opset", "7", "res2net: error: Opset 7 is not supported; choose 13 to 21.\n")]
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
        Assert.Equal(["model", "engine", "batch", "images_per_second", "median_ms", "p95_ms", "peak_rss_mb", "gflops"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(engine, json.GetProperty("engine").GetString());
        Assert.Equal(2, json.GetProperty("batch").GetInt32());
        Assert.True(json.GetProperty("images_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("p95_ms").GetDouble() >= json.GetProperty("median_ms").GetDouble());
        Assert.True(json.GetProperty("peak_rss_mb").GetDouble() > 50);
        Assert.True(json.GetProperty("gflops").GetDouble() > 0);
    }
}
