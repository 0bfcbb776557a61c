using System.CommandLine;
using System.Text.Json;
using Res2Net.Models;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class ModelsCommand
{
    public static Command Create()
    {
        var format = Options.Format("table", "json");
        var command = new Command("models", "List every registered model with its parameters and MACs at 224x224.") { format };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var rows = new List<(ModelInfo Info, ModelProfile Profile)>();
            foreach (var info in ModelRegistry.All)
            {
                using var model = info.Create();
                rows.Add((info, ModelProfiler.Profile(model)));
            }

            if (parse.GetValue(format) == "json")
            {
                var json = rows.Select(r => new
                {
                    name = r.Info.Name,
                    aliases = r.Info.Aliases,
                    description = r.Info.Description,
                    @params = r.Profile.Params,
                    gmacs = Math.Round(r.Profile.GMacs, 3),
                    official_params = r.Info.Official.Params,
                    official_gmacs = r.Info.Official.GMacs,
                    top1_error = r.Info.Official.Top1Error,
                    top5_error = r.Info.Official.Top5Error,
                    pretrained = r.Info.Weights?.Url,
                });
                Console.WriteLine(JsonSerializer.Serialize(json, Json.Indented));
                return Run.Ok;
            }

            var table = new Table().AddColumns("name", "aliases", "params", "GMACs", "official GMACs", "top-1 err %", "weights");
            foreach (var (info, p) in rows)
            {
                table.AddRow(
                    Markup.Escape(info.Name),
                    Markup.Escape(string.Join(", ", info.Aliases)),
                    p.Params.ToString("N0", Json.Culture),
                    p.GMacs.ToString("F2", Json.Culture),
                    info.Official.GMacs?.ToString("F1", Json.Culture) ?? "-",
                    info.Official.Top1Error?.ToString("F2", Json.Culture) ?? "-",
                    info.Weights is null ? "-" : "official");
            }

            AnsiConsole.Write(table);
            return Run.Ok;
        }));
        return command;
    }
}
