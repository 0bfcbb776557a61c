using System.CommandLine;
using System.Text.Json;
using Res2Net.Weights;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Checkpoint to describe." };
        var format = Options.Format("table", "json");
        var command = new Command("inspect", "Describe a checkpoint: container, key layout (official, mmdetection, detectron2), tensors, dtypes, bytes, matching registered model.") { file, format };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var path = parse.GetValue(file)!;
            var info = ModelCheckpoint.Inspect(path);
            var dtypes = info.DTypeCounts.ToDictionary(d => d.Key.ToString().ToLowerInvariant(), d => d.Value);
            var layoutName = info.Layout switch
            {
                CheckpointLayout.MMDetection => "mmdetection",
                CheckpointLayout.Detectron2 => "detectron2",
                _ => "official",
            };
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    file = path,
                    container = info.Container,
                    layout = layoutName,
                    tensors = info.TensorCount,
                    dtypes,
                    bytes = info.Bytes,
                    @params = info.Parameters,
                    matches = info.Fits.Select(m => new { model = m.Model, num_classes = m.NumClasses }),
                }, Json.Indented));
                return Run.Ok;
            }

            var grid = new Grid().AddColumn().AddColumn();
            grid.AddRow("file", Markup.Escape(path));
            grid.AddRow("container", info.Container);
            grid.AddRow("layout", layoutName + (info.Layout == CheckpointLayout.Official ? "" : $" ({info.OfficialTensorCount:N0} backbone tensors under the official keys)"));
            grid.AddRow("tensors", info.TensorCount.ToString("N0", Json.Culture));
            grid.AddRow("dtypes", string.Join(", ", dtypes.Select(d => $"{d.Key} x{d.Value}")));
            grid.AddRow("bytes", info.Bytes.ToString("N0", Json.Culture));
            grid.AddRow("parameters", info.Parameters.ToString("N0", Json.Culture));
            grid.AddRow("fits", info.Fits.Count == 0 ? "no registered model"
                : Markup.Escape(string.Join(", ", info.Fits.Select(m => $"{m.Model} ({m.NumClasses} classes)"))));
            AnsiConsole.Write(grid);
            return Run.Ok;
        }));
        return command;
    }
}
