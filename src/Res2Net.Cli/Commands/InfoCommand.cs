using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Res2Net.Models;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class InfoCommand
{
    /// <summary>The largest side info profiles: shapes only (on LibTorch's meta device), but the forward pass still walks every layer.</summary>
    private const int MaxSide = 16384;

    public static Command Create()
    {
        var model = Options.Model();
        var size = new Option<string>("--size")
        {
            Description = "Input size in pixels: one side (224) or height x width (512x768), each 32 to 16384.",
            DefaultValueFactory = _ => "224",
        };
        var outputStride = Options.OutputStride();
        var format = Options.Format("table", "json");
        var command = new Command("info", "Per-stage channels, reduction and output shapes, parameters and MACs of one model.") { model, size, outputStride, format };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var (height, width) = ParseSize(parse.GetValue(size)!);
            var profile = ModelProfiler.Profile(info, height, width, parse.GetValue(outputStride));
            var stages = profile.Stages;
            var channels = info.Config.InChannels;
            var outputStrideValue = profile.OutputStride;
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    name = info.Name,
                    input = new[] { 1, channels, height, width },
                    output_stride = outputStrideValue,
                    pretrained = info.Pretrained.Select(w => new { name = w.Name, license = w.License, license_terms = w.LicenseTerms, license_url = w.LicenseUrl, max_bytes = w.MaxBytes }),
                    license = info.Pretrained.FirstOrDefault()?.License,
                    @params = profile.Params,
                    macs = profile.Macs,
                    stages = stages.Select(s => new
                    {
                        name = s.Name,
                        module = s.ModuleName,
                        channels = s.Channels,
                        reduction = s.Reduction,
                        output = profile.Parts.First(p => p.Name == s.Name).OutputShape,
                    }),
                    parts = profile.Parts.Select(p => new { name = p.Name, modules = p.Modules, output = p.OutputShape, @params = p.Params, macs = p.Macs }),
                }, Json.Indented));
                return Run.Ok;
            }

            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(info.Name)}[/]: {Markup.Escape(info.Description)}, input 1x{channels}x{height}x{width}, output stride {outputStrideValue}");
            foreach (var w in info.Pretrained)
            {
                AnsiConsole.MarkupLine(Markup.Escape($"published weights {w.Name}: licensed {w.License} ({w.LicenseTerms}), {w.LicenseUrl}"));
            }
            var table = new Table().AddColumns("part", "modules", "channels", "reduction", "output", "params", "MACs");
            foreach (var p in profile.Parts)
            {
                var stage = stages.FirstOrDefault(s => s.Name == p.Name);
                table.AddRow(p.Name, Markup.Escape(p.Modules),
                    stage.Name is null ? "" : stage.Channels.ToString(Json.Culture),
                    stage.Name is null ? "" : stage.Reduction.ToString(Json.Culture),
                    p.OutputShape.Length == 0 ? "" : string.Join("x", p.OutputShape),
                    p.Params.ToString("N0", Json.Culture), (p.Macs / 1e6).ToString("N1", Json.Culture) + " M");
            }

            table.AddRow("[bold]total[/]", "", "", "", "", profile.Params.ToString("N0", Json.Culture), profile.GMacs.ToString("F3", Json.Culture) + " G");
            AnsiConsole.Write(table);
            return Run.Ok;
        }));
        return command;
    }

    /// <summary>"224" (square) or "512x768" (height x width).</summary>
    internal static (int Height, int Width) ParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            var sides = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            if (sides.All(s => s is >= 32 and <= MaxSide))
            {
                return (sides[0], sides[^1]);
            }
        }

        throw new UsageException($"--size must be one side or HEIGHTxWIDTH, each 32 to {MaxSide} pixels (got '{text}').");
    }
}
