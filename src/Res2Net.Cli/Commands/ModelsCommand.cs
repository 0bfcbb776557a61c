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
            var rows = ModelRegistry.All.Select(info => (Info: info, Profile: ModelProfiler.Profile(info))).ToList();

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
                    top1_error = r.Info.Pretrained.FirstOrDefault()?.Top1Error,
                    top5_error = r.Info.Pretrained.FirstOrDefault()?.Top5Error,
                    pretrained = r.Info.Pretrained.FirstOrDefault()?.Url,
                    license = r.Info.Pretrained.FirstOrDefault()?.License,
                    weights = r.Info.Pretrained.Select(w => new
                    {
                        name = w.Name,
                        url = w.Url,
                        sha256_prefix = w.Sha256Prefix,
                        max_bytes = w.MaxBytes,
                        num_classes = w.NumClasses,
                        input_size = w.Preprocess.InputSize,
                        crop_pct = w.Preprocess.CropPct,
                        top1_error = w.Top1Error,
                        top5_error = w.Top5Error,
                        license = w.License,
                        license_terms = w.LicenseTerms,
                        license_url = w.LicenseUrl,
                    }),
                });
                Console.WriteLine(JsonSerializer.Serialize(json, Json.Indented));
                return Run.Ok;
            }

            var table = new Table().AddColumns("name", "aliases", "params", "GMACs", "official GMACs", "top-1 err %", "weights", "license");
            foreach (var (info, p) in rows)
            {
                table.AddRow(
                    Markup.Escape(info.Name),
                    Markup.Escape(string.Join(", ", info.Aliases)),
                    p.Params.ToString("N0", Json.Culture),
                    p.GMacs.ToString("F2", Json.Culture),
                    info.Official.GMacs?.ToString("F1", Json.Culture) ?? "-",
                    info.Pretrained.FirstOrDefault()?.Top1Error?.ToString("F2", Json.Culture) ?? "-",
                    info.Pretrained.Count == 0 ? "-" : Markup.Escape(string.Join(", ", info.Pretrained.Select(w => w.Tag))),
                    info.Pretrained.Count == 0 ? "-" : Markup.Escape(string.Join(", ", info.Pretrained.Select(w => w.License).Distinct())));
            }

            AnsiConsole.Write(table);
            if (ModelRegistry.All.SelectMany(m => m.Pretrained).FirstOrDefault() is { } official)
            {
                // Before anyone downloads: the published weights are not free for every use.
                StdErr.Line($"res2net: the published weights are licensed {official.License} ({official.LicenseTerms}): {official.LicenseUrl}");
            }
            return Run.Ok;
        }));
        return command;
    }
}
