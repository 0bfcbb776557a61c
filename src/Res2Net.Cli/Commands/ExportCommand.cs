using System.CommandLine;
using System.Globalization;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class ExportCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var weights = Options.Weights(required: false);
        var fresh = new Option<bool>("--fresh") { Description = "Export freshly initialised weights instead of a checkpoint (for timing and graph checks)." };
        var output = new Option<string>("--output", "-o") { Description = "The .onnx file to write.", Required = true };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset, {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}.",
            DefaultValueFactory = _ => 17,
        };
        var batch = new Option<string>("--batch") { Description = "Batch dimension: dynamic or a fixed size.", DefaultValueFactory = _ => "dynamic" };
        var size = new Option<int?>("--size") { Description = "Fixed square input side in pixels (default: dynamic height and width)." };
        var stages = new Option<bool>("--stages") { Description = "Also output the stage maps c2..c5." };
        var split = new Option<bool>("--split-first-block")
        {
            Description = "Keep the first block of each stage as separate 3x3 convolutions instead of one grouped convolution.",
        };
        var pad = new Option<bool>("--pad-groups")
        {
            Description = "Zero-pad each Res2Net group to a multiple of 16 channels (ONNX Runtime's blocked convolutions; same outputs).",
        };
        var int8 = new Option<bool>("--int8")
        {
            Description = "Quantize to INT8 (QDQ: uint8 activations, int8 per-channel weights) with ranges measured on --calibrate; needs --size.",
        };
        var calibrate = new Option<string[]>("--calibrate")
        {
            Description = "--int8: photos, folders or .npy batches that represent the inputs (a few dozen images), preprocessed as classify does.",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("export", "Write a model as an ONNX graph (batch norm folded), for ONNX Runtime and other runtimes.")
        {
            model, weights, fresh, output, opset, batch, size, stages, split, pad, int8, calibrate,
        };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var batchText = parse.GetValue(batch)!;
            int? fixedBatch = batchText == "dynamic" ? null
                : int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0 ? b
                : throw new ArgumentException($"--batch must be 'dynamic' or a positive number (got '{batchText}').");
            if (parse.GetValue(fresh) && parse.GetValue(weights) is not null)
            {
                throw new ArgumentException("--fresh and --weights exclude each other.");
            }

            var options = new OnnxExportOptions
            {
                Opset = parse.GetValue(opset),
                Batch = fixedBatch,
                Size = parse.GetValue(size),
                Stages = parse.GetValue(stages),
                GroupFirstBlock = !parse.GetValue(split),
                PadGroups = parse.GetValue(pad),
            };

            var calibration = parse.GetValue(calibrate) ?? [];
            if (parse.GetValue(int8) && (calibration.Length == 0 || options.Size is null))
            {
                throw new ArgumentException("--int8 needs --calibrate with images or .npy batches, and a fixed --size.");
            }

            if (!parse.GetValue(int8) && calibration.Length > 0)
            {
                throw new ArgumentException("--calibrate only applies with --int8.");
            }

            using var net = Build(info, parse.GetValue(fresh) ? null : WeightsResolver.Resolve(info, parse.GetValue(weights)));
            var target = parse.GetValue(output)!;
            if (parse.GetValue(int8))
            {
                var preprocessor = Predictors.Preprocessor(info, options.Size, null, net.Config.InChannels);
                var failed = 0;
                var batches = CalibrationBatches.Read(calibration, preprocessor, options.Size!.Value, info, error =>
                {
                    failed++;
                    Console.Error.WriteLine($"res2net: error: {error}");
                }).ToList();
                if (batches.Count == 0)
                {
                    throw new ArgumentException("No calibration image could be read; --int8 needs at least one.");
                }

                net.eval();
                var fp32 = OnnxExporter.Build(net, options);
                var quantized = OnnxQuantizer.Quantize(fp32, OnnxQuantizer.Calibrate(fp32, batches));
                OnnxExporter.Write(quantized, target);
                Console.Error.WriteLine($"wrote {target} ({new FileInfo(target).Length / 1e6:F1} MB, opset {options.Opset}, INT8, calibrated on {batches.Sum(b => b.Shape[0])} images)");
                return failed == 0 ? Run.Ok : Run.Failed;
            }

            OnnxExporter.Export(net, target, options);
            Console.Error.WriteLine($"wrote {target} ({new FileInfo(target).Length / 1e6:F1} MB, opset {options.Opset})");
            return Run.Ok;
        }));
        return command;
    }

    private static Res2NetBackbone Build(ModelInfo info, string? weightsPath)
    {
        if (weightsPath is null)
        {
            return info.Create();
        }

        var checkpoint = CheckpointFile.ReadStateDict(weightsPath);
        var numClasses = checkpoint.TryGetValue("fc.weight", out var fc) ? (int)fc.Shape[0] : (int?)null;
        var net = info.Create(numClasses, ModelWeights.StemChannels(info, checkpoint));
        try
        {
            ModelWeights.Load(net, checkpoint, Path.GetFileName(weightsPath));
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }
}
