using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Training;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class EvaluateCommand
{
    public static Command Create()
    {
        var flags = ModelFlags.Create(preprocessing: false, threads: true);
        var data = new Option<string?>("--data", "-d") { Description = "Dataset directory (as for 'train'); its test split is evaluated. Default: the embedded Fashion-MNIST sample." };
        var format = Options.Format("table", "json");
        var batchSize = new Option<int>("--batch-size", "-b") { Description = "Images per forward pass.", DefaultValueFactory = _ => 500 };
        var imageSize = new Option<int?>("--image-size") { Description = "Model input side (default: the dataset's)." };
        var command = new Command("evaluate", "Top-1, top-5 and loss of a checkpoint or an ONNX file on a dataset's test split.")
        {
            data, format, batchSize, imageSize,
        };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            if (parse.GetValue(batchSize) < 1 || parse.GetValue(imageSize) is < 8)
            {
                throw new InvalidOptionException("--batch-size", "must be at least 1, --image-size at least 8");
            }

            var source = flags.Source(parse);
            if (source.Kind == ModelSourceKind.Pretrained)
            {
                throw new UsageException("Give either --weights (a checkpoint) or --onnx (an ONNX file).");
            }

            using var runner = await flags.OpenAsync(parse, cancel);
            var splits = DatasetLoader.Load(parse.GetValue(data), parse.GetValue(imageSize) ?? runner.Metadata.Preprocess.InputSize, runner.Metadata.InChannels);
            var classes = runner.Metadata.NumClasses;
            if (classes > 0 && splits.Test.NumClasses > classes)
            {
                throw new Res2NetException($"{source} classifies {classes} classes but the dataset has {splits.Test.NumClasses}.");
            }

            var result = Trainer.Evaluate(runner, splits.Test, parse.GetValue(batchSize), parse.GetValue(imageSize), cancel);
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new { top1 = Json.Number(Math.Round(result.Top1, 4)), top5 = Json.Number(Math.Round(result.Top5, 4)), loss = Json.Number(Math.Round(result.Loss, 6)), images = result.Images }, Json.Compact));
            }
            else
            {
                var table = new Table().AddColumns("model", "images", "top-1 %", "top-5 %", "loss");
                table.AddRow(Markup.Escape(runner.Metadata.Model), result.Images.ToString(CultureInfo.InvariantCulture), result.Top1.ToString("F2", CultureInfo.InvariantCulture),
                    result.Top5.ToString("F2", CultureInfo.InvariantCulture), result.Loss.ToString("F4", CultureInfo.InvariantCulture));
                AnsiConsole.Write(table);
            }

            return Run.Ok;
        }));
        return command;
    }
}
