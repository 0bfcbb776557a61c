using System.CommandLine;
using System.Text.Json;
using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;
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
        var precision = Options.Precision();
        var fixedShape = new Option<bool>("--static") { Description = "onnx: export with a fixed batch too (the size is always fixed)." };
        var format = Options.Format("table", "json");
        var photos = new Option<string[]>("--photos")
        {
            Description = "Also time the whole pipeline on these photos or folders (decode, preprocess, model, top-k, as classify runs it), beside the model alone.",
            AllowMultipleArgumentsPerToken = true,
        };
        var decodeThreads = new Option<int?>("--decode-threads") { Description = "--photos: photos decoded at once (default: one fewer than the cores, at least one)." };
        var stage = new Option<string?>("--stage")
        {
            Description = "Time feature maps instead of classification: c2..c5, several separated by commas (the torch engine stops after the deepest).",
        };
        var outputStride = Options.OutputStride();
        var command = new Command("bench", "Time a model: warm-up, then timed runs; throughput, latency, peak memory, GFLOP/s.")
        {
            model, engine, precision, weights, onnx, batch, size, threads, seconds, fixedShape, format, photos, decodeThreads, stage, outputStride,
        };
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            int b = parse.GetValue(batch), side = parse.GetValue(size), t = parse.GetValue(threads);
            var duration = parse.GetValue(seconds);
            if (b < 1 || t < 1 || side < 16 || duration <= 0)
            {
                throw new InvalidOptionException("--batch", "and --threads must be at least 1, --size at least 16 and --seconds positive");
            }

            var kind = InferenceEngines.Parse(parse.GetValue(engine)!);
            var onnxFile = parse.GetValue(onnx);
            if (onnxFile is not null && (kind != EngineKind.Onnx || parse.GetValue(weights) is not null))
            {
                throw new InvalidOptionException("--onnx", "needs --engine onnx and excludes --weights");
            }

            var p = Precisions.Parse(parse.GetValue(precision)!);
            Precisions.Check(p, kind);
            set_num_threads(t);
            var stride = parse.GetValue(outputStride);
            var stages = parse.GetValue(stage) is { } names ? FeaturesCommand.ParseStages(names) : null;
            if (stages is not null && stages.Contains(FeatureStage.Pooled))
            {
                throw new InvalidOptionException("--stage", "times the stage maps c2..c5; the pooled embedding costs what classification does");
            }

            if ((stride is not null || stages is not null) && (onnxFile is not null || parse.GetValue(weights) is not null))
            {
                throw new InvalidOptionException("--stage", "and --output-stride time fresh weights; leave out --weights and --onnx");
            }

            // What is run: everything up to the deepest stage asked for, or the whole model.
            var profile = ModelProfiler.Profile(info, side, side, stride);
            var deepest = stages is null ? null : $"c{stages.Max(s => (int)s - (int)FeatureStage.C2) + 2}";
            var macs = deepest is null ? profile.Macs
                : profile.Parts.TakeWhile(part => part.Name != deepest).Sum(part => part.Macs) + profile.Parts.First(part => part.Name == deepest).Macs;

            // As the engine does for classify: fixed height and width (so ONNX Runtime fuses more), dynamic batch.
            var export = new OnnxExportOptions
            {
                Batch = parse.GetValue(fixedShape) ? b : null,
                Size = side,
                Embedding = false,
                Stages = stages is not null,
                LastStage = stages?.Max(s => (int)s)
            };
            var weightsFile = parse.GetValue(weights);
            var onnxOptions = new OnnxEngineOptions { Threads = t };
            using var runner = onnxFile is not null ? OnnxEngine.Open(onnxFile, onnxOptions)
                : weightsFile is null ? EngineBenchmark.OpenFresh(kind, info, export, t, p, stride)
                : InferenceEngines.Resolve(kind, p) == EngineKind.Onnx ? new OnnxExportCache().OpenEngine(ModelCheckpoint.Read(weightsFile, info.Name), onnxOptions, export)
                : InferenceEngines.Load(weightsFile, info.Name, kind, p, onnxOptions);
            var label = onnxFile is null ? runner.EngineName : $"onnx:{Path.GetFileName(onnxFile)}";
            var results = new List<BenchmarkResult> { EngineBenchmark.Run(runner, info.Name, label, b, side, duration, macs, cancel, stages) };
            if (parse.GetValue(photos) is { Length: > 0 } inputs)
            {
                var files = Predictor.ExpandInputs(inputs, note => StdErr.Line($"res2net: {note}"));
                var preprocess = runner.Metadata.Preprocess with { InputSize = side };
                var predictor = new Predictor(runner, new Res2Net.Imaging.ImagePreprocessor(preprocess, runner.Metadata.InChannels));
                var options = new BatchOptions { BatchSize = b, DecodeThreads = parse.GetValue(decodeThreads) };
                options.Validate();
                results.Add(await EngineBenchmark.RunPipelineAsync(predictor, files, info.Name, label, options, duration, macs, cancel));
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
                table.AddRow(result.What, Markup.Escape(result.Model), Markup.Escape(result.Engine), result.Precision, result.Batch.ToString(Json.Culture),
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
