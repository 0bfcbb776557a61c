using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Models;
using Spectre.Console;

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
        var engine = Options.Engine();
        var precision = Options.Precision();
        var onnx = Options.OnnxFile();
        var size = Options.Size();
        var crop = Options.CropPct();
        var inputs = Options.Inputs();
        var command = new Command("classify", "Top-k ImageNet classes for photos, folders of photos and .npy batches.")
        {
            model, weights, topk, format, batchSize, engine, precision, onnx, size, crop, inputs,
        };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var k = parse.GetValue(topk);
            if (k < 1 || parse.GetValue(batchSize) < 1)
            {
                throw new ArgumentException("--topk and --batch-size must be at least 1.");
            }

            var info = ModelRegistry.Get(parse.GetValue(model)!);
            using var predictor = Predictors.Load(info, parse.GetValue(weights), parse.GetValue(size), parse.GetValue(crop),
                InferenceEngines.Parse(parse.GetValue(engine)!), Precisions.Parse(parse.GetValue(precision)!), parse.GetValue(onnx));
            var json = parse.GetValue(format) == "json";
            var table = json ? null : new Table().AddColumns("input", "row", "rank", "prob", "label");
            var failed = 0;
            var files = Engines.Predictor.ExpandInputs(parse.GetValue(inputs)!);
            var results = predictor.PredictMany(files, k, parse.GetValue(batchSize), cancellation: CancelKey.Token);
            foreach (var r in Progress.Track(results, files.Count, parse.GetValue(batchSize), "classifying"))
            {
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
                        top = r.Value!.Top.Select(s => new { @class = s.Class, label = s.Label, prob = s.Prob }),
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

            if (table is not null)
            {
                AnsiConsole.Write(table);
            }

            return failed == 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }
}
