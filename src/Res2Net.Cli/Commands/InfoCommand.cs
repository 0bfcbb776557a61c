using System.CommandLine;
using System.Text.Json;
using Res2Net.Models;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class InfoCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var size = new Option<int>("--size") { Description = "Input side in pixels.", DefaultValueFactory = _ => 224 };
        var format = Options.Format("table", "json");
        var command = new Command("info", "Per-stage output shapes, parameters and MACs of one model.") { model, size, format };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var side = parse.GetValue(size);
            if (side < 16)
            {
                throw new ArgumentException($"--size must be at least 16 pixels (got {side}).");
            }

            using var net = info.Create();
            var profile = ModelProfiler.Profile(net, side, side);
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    name = info.Name,
                    input = new[] { 1, info.Config.InChannels, side, side },
                    @params = profile.Params,
                    macs = profile.Macs,
                    parts = profile.Parts.Select(p => new { name = p.Name, modules = p.Modules, output = p.OutputShape, @params = p.Params, macs = p.Macs }),
                }, Json.Indented));
                return Run.Ok;
            }

            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(info.Name)}[/]: {Markup.Escape(info.Description)}, input 1x{info.Config.InChannels}x{side}x{side}");
            var table = new Table().AddColumns("part", "modules", "output", "params", "MACs");
            foreach (var p in profile.Parts)
            {
                table.AddRow(p.Name, Markup.Escape(p.Modules), p.OutputShape.Length == 0 ? "" : string.Join("x", p.OutputShape),
                    p.Params.ToString("N0", Json.Culture), (p.Macs / 1e6).ToString("N1", Json.Culture) + " M");
            }

            table.AddRow("[bold]total[/]", "", "", profile.Params.ToString("N0", Json.Culture), profile.GMacs.ToString("F3", Json.Culture) + " G");
            AnsiConsole.Write(table);
            return Run.Ok;
        }));
        return command;
    }
}
