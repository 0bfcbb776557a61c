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
            var kind = CheckpointFile.Detect(path);
            var tensors = CheckpointFile.ReadStateDict(path);
            var dtypes = tensors.Values.GroupBy(t => t.DType).ToDictionary(g => g.Key.ToString().ToLowerInvariant(), g => g.Count());
            var bytes = tensors.Values.Sum(t => (long)t.Data.Length);
            var parameters = tensors.Where(t => !t.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                && !t.Key.EndsWith("running_mean", StringComparison.Ordinal) && !t.Key.EndsWith("running_var", StringComparison.Ordinal))
                .Sum(t => t.Value.NumElements);
            var (layout, official) = CheckpointLayouts.ToOfficial(tensors, Path.GetFileName(path));
            var matches = ModelWeights.FindMatchingModels(official);
            var layoutName = layout switch
            {
                CheckpointLayout.MMDetection => "mmdetection",
                CheckpointLayout.Detectron2 => "detectron2",
                _ => "official",
            };
            var container = kind switch
            {
                CheckpointContainer.PyTorchZip => "pytorch-zip",
                CheckpointContainer.PyTorchLegacy => "pytorch-legacy",
                _ => "safetensors",
            };
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    file = path,
                    container,
                    layout = layoutName,
                    tensors = tensors.Count,
                    dtypes,
                    bytes,
                    @params = parameters,
                    matches = matches.Select(m => new { model = m.Model.Name, num_classes = m.NumClasses }),
                }, Json.Indented));
                return Run.Ok;
            }

            var grid = new Grid().AddColumn().AddColumn();
            grid.AddRow("file", Markup.Escape(path));
            grid.AddRow("container", container);
            grid.AddRow("layout", layoutName + (layout == CheckpointLayout.Official ? "" : $" ({official.Count:N0} backbone tensors under the official keys)"));
            grid.AddRow("tensors", tensors.Count.ToString("N0", Json.Culture));
            grid.AddRow("dtypes", string.Join(", ", dtypes.Select(d => $"{d.Key} x{d.Value}")));
            grid.AddRow("bytes", bytes.ToString("N0", Json.Culture));
            grid.AddRow("parameters", parameters.ToString("N0", Json.Culture));
            grid.AddRow("fits", matches.Count == 0 ? "no registered model"
                : Markup.Escape(string.Join(", ", matches.Select(m => $"{m.Model.Name} ({m.NumClasses} classes)"))));
            AnsiConsole.Write(grid);
            return Run.Ok;
        }));
        return command;
    }
}
