using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Spectre.Console;
using static TorchSharp.torch;

namespace Res2Net.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var engine = new Option<string>("--engine", "-e") { Description = "torch (TorchSharp) or onnx (ONNX Runtime).", DefaultValueFactory = _ => "torch" };
        engine.AcceptOnlyFromAmong("torch", "onnx");
        var weights = new Option<string>("--weights", "-w") { Description = "Checkpoint to time; default: fresh weights (nothing is downloaded)." };
        var onnx = new Option<string>("--onnx") { Description = "Time this ONNX file with ONNX Runtime instead (e.g. PyTorch's own export of the model)." };
        var batch = new Option<int>("--batch", "-b") { Description = "Images per forward pass.", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size") { Description = "Input side in pixels.", DefaultValueFactory = _ => 224 };
        var threads = new Option<int>("--threads", "-t") { Description = "Intra-op threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seconds = new Option<double>("--seconds", "-s") { Description = "Length of the timed runs (after the warm-up).", DefaultValueFactory = _ => 10 };
        var fixedShape = new Option<bool>("--static") { Description = "onnx: export with a fixed batch too (the size is always fixed)." };
        var format = Options.Format("table", "json");
        var command = new Command("bench", "Time a model: warm-up, then timed runs; throughput, latency, peak memory, GFLOP/s.")
        {
            model, engine, weights, onnx, batch, size, threads, seconds, fixedShape, format,
        };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            int b = parse.GetValue(batch), side = parse.GetValue(size), t = parse.GetValue(threads);
            var duration = parse.GetValue(seconds);
            if (b < 1 || t < 1 || side < 32 || duration <= 0)
            {
                throw new ArgumentException("--batch and --threads must be at least 1, --size at least 32 and --seconds positive.");
            }

            var kind = InferenceEngines.Parse(parse.GetValue(engine)!);
            var onnxFile = parse.GetValue(onnx);
            if (onnxFile is not null && (kind != EngineKind.Onnx || parse.GetValue(weights) is not null))
            {
                throw new ArgumentException("--onnx needs --engine onnx and excludes --weights.");
            }

            set_num_threads(t);
            long macs;
            using (var probe = info.Create())
            {
                macs = ModelProfiler.Profile(probe, side, side).Macs;
            }

            // As the engine does for classify: fixed height and width (so ONNX Runtime fuses more), dynamic batch.
            var export = new OnnxExportOptions { Batch = parse.GetValue(fixedShape) ? b : null, Size = side, Embedding = false };
            using var runner = Open(kind, info, parse.GetValue(weights), onnxFile, export, t);
            var label = onnxFile is null ? runner.EngineName : $"onnx:{Path.GetFileName(onnxFile)}";
            var result = Measure(runner, info, label, b, side, duration, macs);
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(result, Json.Indented));
                return Run.Ok;
            }

            var table = new Table().AddColumns("model", "engine", "batch", "images/s", "median ms", "p95 ms", "peak RSS MB", "GFLOP/s");
            table.AddRow(Markup.Escape(result.model), Markup.Escape(result.engine), result.batch.ToString(Json.Culture),
                result.images_per_second.ToString("F2", Json.Culture), result.median_ms.ToString("F1", Json.Culture),
                result.p95_ms.ToString("F1", Json.Culture), result.peak_rss_mb.ToString("F0", Json.Culture), result.gflops.ToString("F1", Json.Culture));
            AnsiConsole.Write(table);
            return Run.Ok;
        }));
        return command;
    }

    private static IInferenceEngine Open(EngineKind kind, ModelInfo info, string? weights, string? onnxFile, OnnxExportOptions export, int threads)
    {
        if (onnxFile is not null)
        {
            return OnnxEngine.FromFile(onnxFile, info.Config.InChannels, threads);
        }

        if (weights is not null)
        {
            return kind == EngineKind.Onnx
                ? OnnxEngine.Load(info.Name, weights, new OnnxEngineOptions { Threads = threads, Export = export })
                : InferenceEngines.Load(kind, info.Name, weights, threads);
        }

        var model = info.Create();
        if (kind == EngineKind.Torch)
        {
            return InferenceEngines.FromModel(kind, model, threads);
        }

        // The TorchSharp copy is only needed to write the graph: export through a file, free the model and hand its
        // memory back to the system, so the peak memory measured is ONNX Runtime's own.
        var file = Path.Combine(Path.GetTempPath(), $"res2net-bench-{Environment.ProcessId}.onnx");
        try
        {
            using (model)
            {
                model.eval();
                OnnxExporter.Export(model, file, export);
            }

            // Aggressive: also decommits the managed heap the export grew (protobuf buffers of the whole model).
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            TrimNativeHeap();
            return OnnxEngine.FromFile(file, info.Config.InChannels, threads);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>glibc keeps freed native memory (LibTorch's) in the process; malloc_trim returns it.</summary>
    private static void TrimNativeHeap()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Not glibc (e.g. musl): the peak then includes the freed model.
            }
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static BenchResult Measure(IInferenceEngine engine, ModelInfo info, string label, int batch, int side, double seconds, long macs)
    {
        using var input = randn(batch, info.Config.InChannels, side, side, generator: new TorchSharp.torch.Generator(0));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        ResetPeakRss();

        // Warm-up: at least two runs and one second (first runs allocate, pick kernels, pre-pack weights).
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 2 || clock.Elapsed.TotalSeconds < 1; i++)
        {
            engine.Classify(input, 1);
        }

        var latencies = new List<double>();
        clock.Restart();
        while (latencies.Count < 5 || clock.Elapsed.TotalSeconds < seconds)
        {
            var start = Stopwatch.GetTimestamp();
            engine.Classify(input, 1);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        var total = latencies.Sum() / 1000;
        latencies.Sort();
        var imagesPerSecond = batch * latencies.Count / total;
        return new BenchResult(info.Name, label, batch, Math.Round(imagesPerSecond, 3), Math.Round(Percentile(latencies, 0.5), 2),
            Math.Round(Percentile(latencies, 0.95), 2), Math.Round(PeakRssMb(), 1), Math.Round(2.0 * macs * imagesPerSecond / 1e9, 2));
    }

    private static double Percentile(List<double> sorted, double q)
    {
        var pos = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }

    /// <summary>Resets VmHWM to the current RSS (Linux 4.0+), so set-up spikes (profiling, export) are not counted.</summary>
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

    // Lower-case names: they are the JSON keys.
#pragma warning disable IDE1006, SA1300
    private sealed record BenchResult(string model, string engine, int batch, double images_per_second, double median_ms, double p95_ms,
        double peak_rss_mb, double gflops);
#pragma warning restore IDE1006, SA1300
}
