using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Weights;
using Spectre.Console;
using static TorchSharp.torch;

namespace Res2Net.Cli.Commands;

internal static class ClassifyCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var weights = Options.Weights(required: false);
        var topk = new Option<int>("--topk", "-k") { Description = "Classes to show per input.", DefaultValueFactory = _ => 5 };
        var format = Options.Format("table", "json");
        var batchSize = Options.BatchSize();
        var inputs = Options.Inputs();
        var command = new Command("classify", "Top-k ImageNet classes for each input row.") { model, weights, topk, format, batchSize, inputs };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var k = parse.GetValue(topk);
            var batch = parse.GetValue(batchSize);
            if (k < 1 || batch < 1)
            {
                throw new ArgumentException("--topk and --batch-size must be at least 1.");
            }

            var info = ModelRegistry.Get(parse.GetValue(model)!);
            using var engine = TorchEngine.Load(info.Name, WeightsResolver.Resolve(info, parse.GetValue(weights)));
            var json = parse.GetValue(format) == "json";
            var table = json ? null : new Table().AddColumns("input", "row", "rank", "prob", "label");
            var failed = 0;
            foreach (var path in parse.GetValue(inputs)!)
            {
                try
                {
                    var row = 0;
                    foreach (var chunk in InputBatches.Read(path, engine.Model.Config.InChannels, batch))
                    {
                        using (chunk)
                        {
                            foreach (var top in engine.Classify(chunk, k))
                            {
                                if (json)
                                {
                                    Console.WriteLine(JsonSerializer.Serialize(new
                                    {
                                        input = path,
                                        index = row,
                                        top = top.Select(s => new { @class = s.Class, label = s.Label, prob = s.Prob }),
                                    }, Json.Compact));
                                }
                                else
                                {
                                    for (var r = 0; r < top.Length; r++)
                                    {
                                        table!.AddRow(r == 0 ? Markup.Escape(path) : "", r == 0 ? row.ToString(Json.Culture) : "",
                                            (r + 1).ToString(Json.Culture), top[r].Prob.ToString("F4", Json.Culture), Markup.Escape(top[r].Label));
                                    }
                                }

                                row++;
                            }
                        }
                    }
                }
                catch (Exception e) when (e is CheckpointFormatException or IOException or ArgumentException or UnauthorizedAccessException)
                {
                    // One bad input never loses the others: report it, go on, fail at the end.
                    Run.Error(parse, e.Message, e);
                    failed++;
                }
            }

            if (table is not null)
            {
                AnsiConsole.Write(table);
            }

            return failed == 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }
}
