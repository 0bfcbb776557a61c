using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class FeaturesCommand
{
    public static Command Create()
    {
        var flags = ModelFlags.Create(form: true, threads: true);
        var stage = new Option<string>("--stage", "-s")
        {
            Description = "pooled (the embedding before the classifier), a stage map c2..c5, or several separated by commas (c2,c3,c4,c5): one array each, in an .npz.",
            DefaultValueFactory = _ => "pooled",
        };
        var output = new Option<string>("--output", "-o") { Description = "The .npy file to write (float32, rows in input order), or .npz for several stages.", Required = true };
        var format = new Option<string>("--format", "-f")
        {
            Description = "none, or json: also print an index of which row is which input.",
            DefaultValueFactory = _ => "none",
        };
        format.AcceptOnlyFromAmong("none", "json");
        var batchSize = Options.BatchSize();
        var inputs = Options.Inputs();
        var command = new Command("features", "Write embeddings or stage feature maps of photos or .npy batches to a .npy (or .npz) file.")
        {
            stage, output, format, batchSize, inputs,
        };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var stages = ParseStages(parse.GetValue(stage)!);
            var path = parse.GetValue(output)!;
            var npz = path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase);
            if (stages.Count > 1 && !npz)
            {
                throw new InvalidOptionException("--output", $"must end in .npz for several stages ({string.Join(", ", stages.Select(Name))}), one array each");
            }

            var batch = new BatchOptions { BatchSize = parse.GetValue(batchSize) };
            batch.Validate();
            using var predictor = await flags.OpenAsync(parse, cancel, outputs: stages);
            var files = Predictor.ExpandInputs(parse.GetValue(inputs)!, note => StdErr.Line($"res2net: {note}"));
            var rows = new List<(InputItem Item, FeatureRow Row)>();
            var failed = 0;
            using (var bar = Progress.Start("embedding", files.Count, show: files.Count > batch.BatchSize))
            {
                var done = 0;
                await foreach (var r in predictor.FeaturesManyAsync(files, stages, batch, null, cancel))
                {
                    bar.Report(++done);
                    if (!r.Ok)
                    {
                        Run.Error(parse, r.Error!);
                        failed++;
                        continue;
                    }

                    if (rows.Count > 0 && !Enumerable.Range(0, stages.Count).All(i => rows[0].Row.Values[i].Shape.SequenceEqual(r.Value!.Values[i].Shape)))
                    {
                        Run.Error(parse, $"{r.Item.Path}: its features have shape {r.Value!.Values[0]}, unlike the first row's {rows[0].Row.Values[0]}; one array holds one shape (give inputs of one size).");
                        failed++;
                        continue;
                    }

                    rows.Add((r.Item, r.Value!));
                }
            }

            if (rows.Count > 0)
            {
                var arrays = stages.Select((s, i) => KeyValuePair.Create(Name(s), Stack(rows.Select(r => r.Row.Values[i]).ToList()))).ToList();
                if (npz)
                {
                    Npz.Write(path, arrays);
                }
                else
                {
                    Npy.Write(path, arrays[0].Value);
                }
            }

            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    output = rows.Count > 0 ? path : null,
                    shape = rows.Count > 0 ? new long[] { rows.Count }.Concat(rows[0].Row.Values[0].Shape) : null,
                    stages = stages.Select((s, i) => new { name = Name(s), shape = rows.Count > 0 ? new long[] { rows.Count }.Concat(rows[0].Row.Values[i].Shape) : null }),
                    rows = rows.Select((r, i) => new { row = i, input = r.Item.Path, index = r.Item.Index }),
                    failed,
                }, Json.Indented));
            }

            return failed == 0 && rows.Count > 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }

    /// <summary>"pooled", "c3" or "c2,c3,c4,c5": each once, in the order given.</summary>
    internal static List<FeatureStage> ParseStages(string text)
    {
        var result = new List<FeatureStage>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var stage = part.ToLowerInvariant() switch
            {
                "pooled" => FeatureStage.Pooled,
                "c2" => FeatureStage.C2,
                "c3" => FeatureStage.C3,
                "c4" => FeatureStage.C4,
                "c5" => FeatureStage.C5,
                _ => throw new InvalidOptionException("--stage", $"must name pooled or c2..c5, separated by commas (got '{part}')"),
            };
            if (result.Contains(stage))
            {
                throw new InvalidOptionException("--stage", $"names {part} twice");
            }

            result.Add(stage);
        }

        return result.Count > 0 ? result : throw new InvalidOptionException("--stage", "must name at least one stage");
    }

    private static string Name(FeatureStage stage) => stage.ToString().ToLowerInvariant();

    private static TensorData Stack(IReadOnlyList<FloatTensor> rows) => TensorData.FromFloats(FloatTensor.Stack(rows).Values.ToArray(), [rows.Count, .. rows[0].Shape]);
}
