using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Spectre.Console;

namespace Res2Net.Cli.Commands;

internal static class ClassifyCommand
{
    public static Command Create()
    {
        var flags = ModelFlags.Create(threads: true);
        var topk = new Option<int>("--topk", "-k") { Description = "Classes to show per input.", DefaultValueFactory = _ => 5 };
        var format = Options.Format("table", "json");
        var batchSize = Options.BatchSize();
        var inputs = Options.Inputs();
        var command = new Command("classify", "Top-k classes for photos, folders of photos and .npy batches.") { topk, format, batchSize, inputs };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var k = parse.GetValue(topk);
            Prediction.CheckTopK(k);
            var batch = new BatchOptions { BatchSize = parse.GetValue(batchSize) };
            batch.Validate();
            using var predictor = await flags.OpenAsync(parse, cancel);
            var json = parse.GetValue(format) == "json";
            var table = json ? null : new Table().AddColumns("input", "row", "rank", "prob", "label");
            var failed = 0;
            var files = Predictor.ExpandInputs(parse.GetValue(inputs)!, note => StdErr.Line($"res2net: {note}"));
            using var bar = Progress.Start("classifying", files.Count, show: files.Count > batch.BatchSize);
            var done = 0;
            await foreach (var r in predictor.PredictManyAsync(files, k, batch, null, cancel))
            {
                bar.Report(++done);
                if (!r.Ok)
                {
                    Run.Error(parse, r.Error!);
                    failed++;
                    continue;
                }

                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        input = r.Item.Path,
                        index = r.Item.Index,
                        top = r.Value!.Top.Select(s => new { @class = s.Class, label = s.Label, prob = Json.Number(s.Prob) }),
                    }, Json.Compact));
                    continue;
                }

                var top = r.Value!.Top;
                for (var rank = 0; rank < top.Count; rank++)
                {
                    table!.AddRow(rank == 0 ? Markup.Escape(r.Item.Path) : "", rank == 0 ? r.Item.Index.ToString(Json.Culture) : "",
                        (rank + 1).ToString(Json.Culture), top[rank].Prob.ToString("F4", Json.Culture), Markup.Escape(top[rank].Label));
                }
            }

            bar.Dispose();
            if (table is not null)
            {
                AnsiConsole.Write(table);
            }

            return failed == 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }
}
