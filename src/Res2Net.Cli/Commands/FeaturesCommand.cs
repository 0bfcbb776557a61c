using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class FeaturesCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var weights = Options.Weights(required: false);
        var stage = new Option<string>("--stage", "-s")
        {
            Description = "pooled (the embedding before the classifier) or a stage map c2..c5.",
            DefaultValueFactory = _ => "pooled",
        };
        stage.AcceptOnlyFromAmong("pooled", "c2", "c3", "c4", "c5");
        var output = new Option<string>("--output", "-o") { Description = "The .npy file to write (float32, rows in input order).", Required = true };
        var format = new Option<string>("--format", "-f")
        {
            Description = "none, or json: also print an index of which row is which input.",
            DefaultValueFactory = _ => "none",
        };
        format.AcceptOnlyFromAmong("none", "json");
        var batchSize = Options.BatchSize();
        var engine = Options.Engine();
        var precision = Options.Precision();
        var onnx = Options.OnnxFile();
        var size = Options.Size();
        var crop = Options.CropPct();
        var inputs = Options.Inputs();
        var command = new Command("features", "Write embeddings or stage feature maps of photos or .npy batches to a .npy file.")
        {
            model, weights, stage, output, format, batchSize, engine, precision, onnx, size, crop, inputs,
        };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var which = Enum.Parse<FeatureStage>(parse.GetValue(stage)!, ignoreCase: true);
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            using var predictor = Predictors.Load(info, parse.GetValue(weights), parse.GetValue(size), parse.GetValue(crop),
                InferenceEngines.Parse(parse.GetValue(engine)!), Precisions.Parse(parse.GetValue(precision)!), parse.GetValue(onnx));
            var files = Engines.Predictor.ExpandInputs(parse.GetValue(inputs)!);
            var rows = new List<(InputItem Item, FeatureRow Row)>();
            var failed = 0;
            var results = predictor.Features(files, which, parse.GetValue(batchSize), cancellation: CancelKey.Token);
            foreach (var r in Progress.Track(results, files.Count, parse.GetValue(batchSize), "embedding"))
            {
                if (!r.Ok)
                {
                    Run.Error(parse, r.Error!);
                    failed++;
                    continue;
                }

                if (rows.Count > 0 && !rows[0].Row.Shape.SequenceEqual(r.Value!.Shape))
                {
                    Run.Error(parse, $"{r.Item.Path}: its features have shape ({string.Join(", ", r.Value!.Shape)}), unlike the first row's ({string.Join(", ", rows[0].Row.Shape)}); one .npy holds one shape (give inputs of one size).");
                    failed++;
                    continue;
                }

                rows.Add((r.Item, r.Value!));
            }

            var path = parse.GetValue(output)!;
            if (rows.Count > 0)
            {
                var rowShape = rows[0].Row.Shape;
                var values = new float[rows.Sum(r => r.Row.Values.Length)];
                var offset = 0;
                foreach (var (_, row) in rows)
                {
                    row.Values.CopyTo(values, offset);
                    offset += row.Values.Length;
                }

                Npy.Write(path, TensorData.FromFloats(values, [rows.Count, .. rowShape]));
            }

            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    output = rows.Count > 0 ? path : null,
                    shape = rows.Count > 0 ? new long[] { rows.Count }.Concat(rows[0].Row.Shape) : null,
                    rows = rows.Select((r, i) => new { row = i, input = r.Item.Path, index = r.Item.Index }),
                    failed,
                }, Json.Indented));
            }

            return failed == 0 && rows.Count > 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }
}
