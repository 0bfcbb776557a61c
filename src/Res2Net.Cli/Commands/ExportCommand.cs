using System.CommandLine;
using System.Globalization;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Cli.Commands;

internal static class ExportCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var weights = Options.Weights(required: false);
        var fresh = new Option<bool>("--fresh") { Description = "Export freshly initialised weights instead of a checkpoint (for timing and graph checks)." };
        var output = new Option<string>("--output", "-o") { Description = "The .onnx file to write." };
        var triton = new Option<string>("--triton")
        {
            Description = "Write a Triton Inference Server model repository here instead (DIR/NAME/config.pbtxt, DIR/NAME/1/model.onnx, labels.txt): dynamic batch, the model's input size unless --size.",
        };
        var maxBatch = new Option<int>("--max-batch") { Description = "--triton: max_batch_size, the most images Triton batches into one run.", DefaultValueFactory = _ => 8 };
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
        var outputStride = Options.OutputStride();
        var blockStyle = Options.BlockStyle();
        var command = new Command("export", "Write a model as an ONNX graph (batch norm folded), for ONNX Runtime and other runtimes.")
        {
            model, weights, fresh, output, triton, maxBatch, opset, batch, size, stages, split, pad, int8, calibrate, outputStride, blockStyle,
        };
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var batchText = parse.GetValue(batch)!;
            int? fixedBatch = batchText == "dynamic" ? null
                : int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0 ? b
                : throw new InvalidOptionException("--batch", $"must be 'dynamic' or a positive number (got '{batchText}')");
            if (parse.GetValue(fresh) && parse.GetValue(weights) is not null)
            {
                throw new InvalidOptionException("--fresh", "and --weights exclude each other");
            }

            var tritonDir = parse.GetValue(triton);
            if ((tritonDir is null) == (parse.GetValue(output) is null))
            {
                throw new InvalidOptionException("--output", "or --triton must say where to write, one of them");
            }

            if (tritonDir is not null && fixedBatch is not null)
            {
                throw new InvalidOptionException("--batch", "must stay dynamic with --triton (Triton batches requests itself)");
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
            options.Validate();

            var calibration = parse.GetValue(calibrate) ?? [];
            if (parse.GetValue(int8) && (calibration.Length == 0 || options.Size is null))
            {
                throw new InvalidOptionException("--int8", "needs --calibrate with images or .npy batches, and a fixed --size");
            }

            if (!parse.GetValue(int8) && calibration.Length > 0)
            {
                throw new InvalidOptionException("--calibrate", "only applies with --int8");
            }

            var (stride, style) = (parse.GetValue(outputStride), Options.ParseBlockStyle(parse.GetValue(blockStyle)));
            info.Configure(outputStride: stride, style: style);
            var source = parse.GetValue(fresh) ? ModelSource.Untrained(info.Name)
                : parse.GetValue(weights) is { } file ? ModelSource.Checkpoint(file, info.Name)
                : ModelSource.Pretrained(info.Name);
            using var download = new ModelFlags.DownloadReport(source);
            using var net = await Res2NetBackbone.CreateAsync(source, new BackboneOptions { OutputStride = stride, BlockStyle = style }, download, cancel);
            net.eval();

            var target = parse.GetValue(output);
            var failed = 0;
            var note = "";
            IReadOnlyList<FloatTensor>? batches = null;
            if (parse.GetValue(int8))
            {
                options = options with { Precision = Precision.Int8 };
                var preprocessor = new ImagePreprocessor(net.Metadata.Preprocess with { InputSize = options.Size!.Value }, net.Config.InChannels);
                batches = CalibrationSet.Read(calibration, preprocessor, error =>
                {
                    failed++;
                    Run.Error(parse, error);
                }, note => StdErr.Line($"res2net: {note}")).TakeWhile(_ => !cancel.IsCancellationRequested).ToList();
                cancel.ThrowIfCancellationRequested();
                if (batches.Count == 0)
                {
                    throw new InvalidOptionException("--calibrate", "gave no image that could be read; --int8 needs at least one");
                }

                note = $", INT8, calibrated on {batches.Sum(x => x.Shape[0])} images";
            }

            if (tritonDir is not null)
            {
                var folder = TritonRepository.Write(net, tritonDir, options, parse.GetValue(maxBatch), batches, cancel);
                Console.Error.WriteLine($"wrote the Triton model {folder} (config.pbtxt, 1/model.onnx{(net.Metadata.ClassNames.Count > 0 ? ", labels.txt" : "")}; max_batch_size {parse.GetValue(maxBatch)}{note})");
                return failed == 0 ? Run.Ok : Run.Failed;
            }

            OnnxExporter.Export(net, target!, options, batches, cancel);
            Console.Error.WriteLine($"wrote {target} ({new FileInfo(target!).Length / 1e6:F1} MB, opset {options.Opset}{note})");
            return failed == 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }
}
