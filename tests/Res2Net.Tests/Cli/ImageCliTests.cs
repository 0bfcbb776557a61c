using System.Text.Json;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Cli;

/// <summary>A registered model's weights (random, but a real checkpoint file) shared by the image command tests.</summary>
public sealed class DlaWeights : IDisposable
{
    private readonly TempDir dir = new();

    public DlaWeights()
    {
        Path = dir.File("res2next_dla60.safetensors");
        using var model = ModelRegistry.Create("res2next_dla60");
        ModelWeights.Save(model, Path);
    }

    public string Path { get; }

    public void Dispose() => dir.Dispose();
}

public class ImageCliTests(DlaWeights weights) : IClassFixture<DlaWeights>
{
    private static string Photos => Path.Combine(TestPaths.Fixtures, "images");

    [Fact]
    public void Classify_a_folder_with_a_damaged_photo_names_it_and_classifies_the_rest()
    {
        var r = CliRunner.Run("classify", "--model", "res2next_dla60", "--weights", weights.Path, "--format", "json", "--batch-size", "2", Photos);
        Assert.Equal(1, r.ExitCode);
        var rows = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var photos = Directory.GetFiles(Photos).Where(ImageFiles.IsImageFile).Where(p => !p.EndsWith("truncated.jpg", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(photos, rows.Select(x => x.GetProperty("input").GetString()));
        Assert.All(rows, x => Assert.Equal(5, x.GetProperty("top").GetArrayLength()));
        var error = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"res2net: error: {Path.Combine(Photos, "truncated.jpg")}: the image is damaged or truncated (JPEG: the data ends early).", error);
    }

    [Fact]
    public void The_onnx_engine_gives_the_torch_engines_answers()
    {
        using var dir = new TempDir();
        var weightsCopy = dir.File("dla.safetensors");
        File.Copy(weights.Path, weightsCopy);
        var photos = new[] { Path.Combine(Photos, "coffee.png"), Path.Combine(Photos, "astronaut.png") };
        string[] Args(string engine) => ["classify", "--model", "res2next_dla60", "--weights", weightsCopy, "--format", "json", "--topk", "3", "--engine", engine, .. photos];
        var torch = CliRunner.Run(Args("torch"));
        var onnx = CliRunner.Run(Args("onnx"));
        Assert.Equal(0, torch.ExitCode);
        Assert.Equal(0, onnx.ExitCode);
        static IEnumerable<(int Class, double Prob)> Top(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(l => JsonDocument.Parse(l).RootElement.GetProperty("top").EnumerateArray())
            .Select(t => (t.GetProperty("class").GetInt32(), t.GetProperty("prob").GetDouble()));
        var a = Top(torch.StdOut).ToList();
        var b = Top(onnx.StdOut).ToList();
        Assert.Equal(a.Select(x => x.Class), b.Select(x => x.Class));
        Assert.All(a.Zip(b), p => Assert.True(Math.Abs(p.First.Prob - p.Second.Prob) <= 1e-4 * Math.Max(1, p.First.Prob)));
    }

    [Fact]
    public void Features_of_photos_come_with_an_index()
    {
        using var dir = new TempDir();
        var output = dir.File("emb.npy");
        var photos = new[] { Path.Combine(Photos, "rocket.jpg"), Path.Combine(Photos, "camera.png") };
        var r = CliRunner.Run("features", "--model", "res2next_dla60", "--weights", weights.Path, "--output", output, "--format", "json", photos[0], photos[1]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new long[] { 2, 1024 }, Npy.Read(output).Shape);
        var index = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal(photos, index.GetProperty("rows").EnumerateArray().Select(x => x.GetProperty("input").GetString()));
    }

    [Theory]
    [InlineData("chelsea.png", null)]
    [InlineData("rocket.jpg", "c3")]
    public void Cam_writes_a_png_of_the_photos_own_size(string photo, string? stage)
    {
        using var dir = new TempDir();
        var output = dir.File("cam.png");
        string[] args = ["cam", "--model", "res2next_dla60", "--weights", weights.Path, "--class", "285", "--format", "json", "-o", output, Path.Combine(Photos, photo)];
        var r = CliRunner.Run(stage is null ? args : [.. args, "--stage", stage]);
        Assert.Equal(0, r.ExitCode);
        var source = ImageDecoder.Decode(Path.Combine(Photos, photo));
        var written = ImageDecoder.Decode(output);
        Assert.Equal((source.Width, source.Height), (written.Width, written.Height));
        var json = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal(285, json.GetProperty("class").GetInt32());
        Assert.Equal("Egyptian cat", json.GetProperty("label").GetString());

        // The heatmap changes the photo: the overlay is not a copy.
        Assert.NotEqual(source.Rgb.ToArray(), written.Rgb.ToArray());
    }

    [Fact]
    public void Cam_on_a_damaged_photo_fails_with_one_line()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("cam", "--model", "res2next_dla60", "--weights", weights.Path, "-o", dir.File("x.png"), Path.Combine(Photos, "truncated.jpg"));
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(dir.File("x.png")));
    }
}
