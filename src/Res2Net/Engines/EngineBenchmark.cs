using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Res2Net.Engines;

/// <summary>Times engines the same way for every runtime: warm-up, then timed runs of one fixed random batch.</summary>
public static class EngineBenchmark
{
    /// <summary>
    /// Warm-up (at least two runs and one second: first runs allocate, pick kernels, pre-pack weights), then runs of
    /// top-1 classification for at least <paramref name="seconds"/> and five runs. Peak RSS is VmHWM, reset before the
    /// warm-up, so set-up spikes (profiling, export) are not counted; GFLOP/s counts a MAC as two operations. With
    /// <paramref name="stages"/>, the runs compute those feature maps instead of classifying (as dense-prediction code
    /// does; the torch engine stops after the deepest one).
    /// </summary>
    /// <param name="predictor">The model to time, as opened for inference.</param>
    /// <param name="model">The model's name, for the result.</param>
    /// <param name="label">The engine's name, for the result.</param>
    /// <param name="batch">Images per run.</param>
    /// <param name="side">Square input side in pixels.</param>
    /// <param name="seconds">Length of the timed runs.</param>
    /// <param name="macs">Multiply-accumulates per image of what is run (for GFLOP/s).</param>
    /// <param name="cancel">Stops the runs.</param>
    /// <param name="stages">Feature maps to compute instead of classifying; null: classify.</param>
    public static BenchmarkResult Run(Predictor predictor, string model, string label, int batch, int side, double seconds, long macs,
        CancellationToken cancel = default, IReadOnlyList<FeatureStage>? stages = null)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        void Once(FloatTensor input)
        {
            if (stages is null)
            {
                predictor.Classify(input, 1, cancel);
            }
            else
            {
                predictor.Features(input, stages, cancel);
            }
        }

        FloatTensor input;
        using (var generator = new Generator(0))
        using (var random = randn(batch, predictor.Metadata.InChannels, side, side, generator: generator))
        {
            input = random.ToFloatTensor();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        ResetPeakRss();

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 2 || clock.Elapsed.TotalSeconds < 1; i++)
        {
            cancel.ThrowIfCancellationRequested();
            Once(input);
        }

        var latencies = new List<double>();
        clock.Restart();
        while (latencies.Count < 5 || clock.Elapsed.TotalSeconds < seconds)
        {
            cancel.ThrowIfCancellationRequested();
            var start = Stopwatch.GetTimestamp();
            Once(input);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        var total = latencies.Sum() / 1000;
        latencies.Sort();
        var imagesPerSecond = batch * latencies.Count / total;
        return new BenchmarkResult(model, label, batch, Math.Round(imagesPerSecond, 3), Math.Round(Percentile(latencies, 0.5), 2),
            Math.Round(Percentile(latencies, 0.95), 2), Math.Round(PeakRssMb(), 1), Math.Round(2.0 * macs * imagesPerSecond / 1e9, 2),
            predictor.Precision);
    }

    /// <summary>
    /// The whole photo pipeline, as <c>classify</c> runs it: <paramref name="predictor"/> over <paramref name="photos"/>
    /// (decoded in parallel while the engine runs, top-1 kept), pass after pass for at least <paramref name="seconds"/>
    /// after one warm-up pass. Also times decoding and preprocessing alone, one photo after another on one thread
    /// (<see cref="BenchmarkResult.PreprocessMs"/>), so the split between the two shows.
    /// </summary>
    public static async Task<BenchmarkResult> RunPipelineAsync(Predictor predictor, IReadOnlyList<string> photos, string model, string label,
        BatchOptions batch, double seconds, long macs, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(photos);
        if (photos.Count == 0)
        {
            throw new InvalidOptionException("Photos", "must name at least one photo");
        }

        // One thread, one photo after another: what a photo costs before the model sees it.
        var buffer = new float[predictor.Preprocessor.OutputLength];
        var preprocess = Stopwatch.StartNew();
        foreach (var photo in photos)
        {
            cancel.ThrowIfCancellationRequested();
            predictor.Preprocessor.ProcessInto(Imaging.ImageDecoder.Decode(photo), buffer);
        }

        var preprocessMs = preprocess.Elapsed.TotalMilliseconds / photos.Count;

        async Task<(int Images, List<double> Batches)> Pass()
        {
            var times = new List<double>();
            var images = 0;
            var last = Stopwatch.GetTimestamp();
            await foreach (var r in predictor.PredictManyAsync(photos, 1, batch, null, cancel).ConfigureAwait(false))
            {
                if (!r.Ok)
                {
                    throw new Res2NetException(r.Error!);
                }

                if (++images % batch.BatchSize == 0)
                {
                    times.Add(Stopwatch.GetElapsedTime(last).TotalMilliseconds);
                    last = Stopwatch.GetTimestamp();
                }
            }

            return (images, times);
        }

        await Pass().ConfigureAwait(false);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        ResetPeakRss();
        var total = 0;
        var batches = new List<double>();
        var clock = Stopwatch.StartNew();
        do
        {
            var (images, times) = await Pass().ConfigureAwait(false);
            total += images;
            batches.AddRange(times);
        }
        while (clock.Elapsed.TotalSeconds < seconds);

        var imagesPerSecond = total / clock.Elapsed.TotalSeconds;
        batches.Sort();
        return new BenchmarkResult(model, label, batch.BatchSize, Math.Round(imagesPerSecond, 3),
            batches.Count == 0 ? 0 : Math.Round(Percentile(batches, 0.5), 2), batches.Count == 0 ? 0 : Math.Round(Percentile(batches, 0.95), 2),
            Math.Round(PeakRssMb(), 1), Math.Round(2.0 * macs * imagesPerSecond / 1e9, 2), predictor.Precision, "pipeline",
            Math.Round(preprocessMs, 3));
    }

    private static double Percentile(List<double> sorted, double q)
    {
        var pos = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }

    /// <summary>Resets VmHWM to the current RSS (Linux 4.0+).</summary>
    private static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux or not allowed: the peak then includes set-up.
        }
    }

    private static double PeakRssMb()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0
                : double.Parse(line["VmHWM:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
