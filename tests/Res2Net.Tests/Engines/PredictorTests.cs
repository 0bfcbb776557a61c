using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Engines;

public class PredictorTests
{
    private static string Photos => Path.Combine(TestPaths.Fixtures, "images");

    private static Predictor TinyPredictor(string name = "res2net_tiny_s4")
    {
        var model = FixtureModels.Config(name).Build();
        ModelWeights.Load(model, TestPaths.Fixture(name + ".pth"));
        return new Predictor(new TorchEngine(model), new ImagePreprocessor());
    }

    [Fact]
    public async Task Embeddings_of_photos_match_the_model_on_torchvisions_tensors()
    {
        // torchvision + PIL made NAME.expected.npy from each photo; the embedding of our own preprocessing of the photo
        // must agree with the embedding of theirs (the held-out check asks cosine >= 0.999).
        using var predictor = TinyPredictor();
        var names = new[] { "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "palette_color.png", "rocket.jpg" };
        var ours = new List<float[]>();
        await foreach (var r in predictor.EmbedManyAsync(names.Select(n => Path.Combine(Photos, n)), cancellationToken: CancellationToken.None))
        {
            ours.Add(r.Value ?? throw new Xunit.Sdk.XunitException(r.Error));
        }

        for (var i = 0; i < names.Length; i++)
        {
            using var reference = Npy.Read(Path.Combine(Photos, Path.GetFileNameWithoutExtension(names[i]) + ".expected.npy")).ToTensor().unsqueeze(0);
            var e = predictor.Features(reference.ToFloatTensor(), [FeatureStage.Pooled])[0].Values.ToArray();
            var dot = e.Zip(ours[i]).Sum(p => (double)p.First * p.Second);
            var cosine = dot / Math.Sqrt(e.Sum(v => (double)v * v) * ours[i].Sum(v => (double)v * v));
            Assert.True(cosine >= 0.999, $"{names[i]}: cosine {cosine}");
        }
    }

    [Fact]
    public async Task A_damaged_photo_in_the_middle_is_reported_in_its_place_and_the_rest_are_classified()
    {
        using var predictor = TinyPredictor();
        var inputs = new[] { Photos, TestPaths.Fixture("input_2x3x64x64.npy"), "/nonexistent/x.jpg" };
        var results = await predictor.PredictManyAsync(inputs, topk: 3, new BatchOptions { BatchSize = 2 }, cancellationToken: CancellationToken.None)
            .ToListAsync(CancellationToken.None);

        var expectedOrder = Directory.GetFiles(Photos).Where(ImageFiles.IsImageFile).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expectedOrder.Count + 3, results.Count);
        Assert.Equal(expectedOrder, results.Take(expectedOrder.Count).Select(r => r.Item.Path));
        var bad = Assert.Single(results, r => !r.Ok && r.Item.Path.EndsWith("truncated.jpg", StringComparison.Ordinal));
        Assert.Contains("truncated.jpg: the image is damaged or truncated", bad.Error);
        Assert.Equal(expectedOrder.Count - 1, results.Take(expectedOrder.Count).Count(r => r.Ok));
        Assert.Equal(new[] { 0, 1 }, results.Skip(expectedOrder.Count).Take(2).Select(r => r.Item.Index));
        Assert.True(results.Skip(expectedOrder.Count).Take(2).All(r => r.Ok));
        Assert.Equal("/nonexistent/x.jpg: no such file or folder.", results[^1].Error);

        // The .npy rows (another size than the photos) get the fixture's own answer.
        using var logits = Npy.Read(TestPaths.Fixture("res2net_tiny_s4.logits.npy")).ToTensor();
        var best = logits.argmax(1).data<long>().ToArray();
        Assert.Equal(best.Select(b => (int)b), results.Skip(expectedOrder.Count).Take(2).Select(r => r.Value!.Best.Class));
    }

    [Fact]
    public async Task Cancellation_stops_a_long_run()
    {
        using var predictor = TinyPredictor();
        using var cts = new CancellationTokenSource();
        var inputs = Enumerable.Repeat(TestPaths.Fixture("input_2x3x64x64.npy"), 200);
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in predictor.PredictManyAsync(inputs, options: new BatchOptions { BatchSize = 4 }, cancellationToken: cts.Token))
            {
                if (++seen == 8)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.InRange(seen, 8, 16);
    }
}

/// <summary>Resident memory must stay flat over many forward passes (native tensors released every batch).</summary>
[Collection(nameof(GlobalTorchState))]
public class MemoryTests
{
    [Fact]
    public void Resident_memory_stays_flat_over_hundreds_of_forward_passes()
    {
        var model = FixtureModels.Config("res2net_dla_tiny").Build();
        ModelWeights.Load(model, TestPaths.Fixture("res2net_dla_tiny.pth"));
        using var engine = new TorchEngine(model);
        using var tensor = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy")).ToTensor();
        var input = tensor.ToFloatTensor();

        void Passes(int n)
        {
            for (var i = 0; i < n; i++)
            {
                engine.Classify(input, 5);
                engine.Features(input, [FeatureStage.C3]);
            }
        }

        Passes(50);
        GC.Collect();
        var before = ResidentMegabytes();
        Passes(300);
        GC.Collect();
        var after = ResidentMegabytes();
        Assert.True(after - before < 25, $"resident memory grew from {before:F0} MB to {after:F0} MB over 300 passes");
    }

    private static double ResidentMegabytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }
}
