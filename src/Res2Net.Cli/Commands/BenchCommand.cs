using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Models;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var flags = ModelFlags.Create(preprocessing: false, threads: true, untrained: true);
        flags.Weights.Description = "Checkpoint to time; default: fresh weights of --model (nothing is downloaded).";
        flags.Onnx!.Description = "Time this ONNX file with ONNX Runtime instead (e.g. PyTorch's own export of the model, or an INT8 export).";
        var batch = new Option<int>("--batch", "-b") { Description = "Images per forward pass.", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size") { Description = "Input side in pixels.", DefaultValueFactory = _ => 224 };
        var seconds = new Option<double>("--seconds", "-s") { Description = "Length of the timed runs (after the warm-up).", DefaultValueFactory = _ => 10 };
        var format = Options.Format("table", "json");
        var photos = new Option<string[]>("--photos")
        {
            Description = "Also time the whole pipeline on these photos or folders (decode, preprocess, model, top-k, as classify runs it), beside the model alone.",
            AllowMultipleArgumentsPerToken = true,
        };
        var decodeThreads = new Option<int?>("--decode-threads") { Description = "--photos: photos decoded at once (default: one fewer than the cores, at least one)." };
        var stage = new Option<string?>("--stage")
        {
            Description = "Time feature maps instead of classification: c2..c5, several separated by commas (the pass stops after the deepest).",
        };
        var outputStride = Options.OutputStride();
        var command = new Command("bench", "Time a model: warm-up, then timed runs; throughput, latency, peak memory, GFLOP/s.")
        {
            batch, size, seconds, format, photos, decodeThreads, stage, outputStride,
        };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            int b = parse.GetValue(batch), side = parse.GetValue(size);
            var duration = parse.GetValue(seconds);
            if (b < 1 || side < 16 || !(duration > 0) || !double.IsFinite(duration))
            {
                throw new InvalidOptionException("--batch", "must be at least 1, --size at least 16 and --seconds a positive number");
            }

            var stages = parse.GetValue(stage) is { } names ? FeaturesCommand.ParseStages(names) : null;
            if (stages is not null && stages.Contains(FeatureStage.Pooled))
            {
                throw new InvalidOptionException("--stage", "times the stage maps c2..c5; the pooled embedding costs what classification does");
            }

            var stride = parse.GetValue(outputStride);
            var source = flags.Source(parse);
            if ((stride is not null || stages is not null) && source.Kind != ModelSourceKind.Untrained)
            {
                throw new InvalidOptionException("--stage", "and --output-stride time fresh weights; leave out --weights and --onnx");
            }

            var options = flags.Settings(parse, outputs: stages) with { OutputStride = stride, InputSize = side };
            using var predictor = await Predictor.OpenAsync(source, options, cancellationToken: cancel);
            var model = parse.GetValue(flags.Model) ?? predictor.Metadata.Model;
            var label = source.Kind == ModelSourceKind.Onnx ? $"onnx:{Path.GetFileName(source.Location)}" : predictor.EngineKind.Name();

            // What is run: everything up to the deepest stage asked for, or the whole model.
            var macs = 0L;
            if (ModelRegistry.TryGet(model, out var info))
            {
                var profile = ModelProfiler.Profile(info, side, side, stride);
                var deepest = stages is null ? null : $"c{stages.Max(s => (int)s - (int)FeatureStage.C2) + 2}";
                macs = deepest is null ? profile.Macs
                    : profile.Parts.TakeWhile(part => part.Name != deepest).Sum(part => part.Macs) + profile.Parts.First(part => part.Name == deepest).Macs;
            }

            var results = new List<BenchmarkResult> { EngineBenchmark.Run(predictor, model, label, b, side, duration, macs, cancel, stages) };
            if (parse.GetValue(photos) is { Length: > 0 } inputs)
            {
                var files = Predictor.ExpandInputs(inputs, note => StdErr.Line($"res2net: {note}"));
                var pipeline = new BatchOptions { BatchSize = b, DecodeThreads = parse.GetValue(decodeThreads) };
                pipeline.Validate();
                results.Add(await EngineBenchmark.RunPipelineAsync(predictor, files, model, label, pipeline, duration, macs, cancel));
            }

            if (parse.GetValue(format) == "json")
            {
                // One object for the model alone (as before), an array when the pipeline was timed too.
                Console.WriteLine(results.Count == 1 ? JsonSerializer.Serialize(results[0], Json.Indented) : JsonSerializer.Serialize(results, Json.Indented));
                return Run.Ok;
            }

            var table = new Table().AddColumns("what", "model", "engine", "precision", "batch", "images/s", "median ms", "p95 ms", "peak RSS MB", "GFLOP/s", "preprocess ms");
            foreach (var result in results)
            {
                table.AddRow(result.What, Markup.Escape(result.Model), Markup.Escape(result.Engine), result.Precision.Name(), result.Batch.ToString(Json.Culture),
                    result.ImagesPerSecond.ToString("F2", Json.Culture), result.MedianMs.ToString("F1", Json.Culture),
                    result.P95Ms.ToString("F1", Json.Culture), result.PeakRssMb.ToString("F0", Json.Culture), result.Gflops.ToString("F1", Json.Culture),
                    result.PreprocessMs?.ToString("F2", Json.Culture) ?? "");
            }

            if (results.Count == 2)
            {
                table.Caption($"pipeline / model: {results[1].ImagesPerSecond / results[0].ImagesPerSecond:F2}x");
            }

            AnsiConsole.Write(table);
            return Run.Ok;
        }));
        return command;
    }
}
