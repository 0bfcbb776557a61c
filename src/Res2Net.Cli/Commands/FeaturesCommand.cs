using System.CommandLine;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Weights;
using static TorchSharp.torch;

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
        var output = new Option<string>("--output", "-o") { Description = "The .npy file to write (float32).", Required = true };
        var batchSize = Options.BatchSize();
        var inputs = Options.Inputs();
        var command = new Command("features", "Write embeddings or stage feature maps to a .npy file, rows in input order.")
        {
            model, weights, stage, output, batchSize, inputs,
        };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var which = Enum.Parse<FeatureStage>(parse.GetValue(stage)!, ignoreCase: true);
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            using var engine = TorchEngine.Load(info.Name, WeightsResolver.Resolve(info, parse.GetValue(weights)));
            var rows = new List<Tensor>();
            var failed = 0;
            try
            {
                foreach (var path in parse.GetValue(inputs)!)
                {
                    try
                    {
                        foreach (var chunk in InputBatches.Read(path, engine.Model.Config.InChannels, parse.GetValue(batchSize)))
                        {
                            using (chunk)
                            {
                                rows.Add(engine.Features(chunk, which));
                            }
                        }
                    }
                    catch (Exception e) when (e is CheckpointFormatException or IOException or ArgumentException or UnauthorizedAccessException)
                    {
                        Run.Error(parse, e.Message, e);
                        failed++;
                    }
                }

                if (rows.Count > 0)
                {
                    using var all = cat(rows, 0);
                    Npy.Write(parse.GetValue(output)!, all.ToTensorData());
                }
            }
            finally
            {
                rows.ForEach(r => r.Dispose());
            }

            return failed == 0 && rows.Count > 0 ? Run.Ok : Run.Failed;
        }));
        return command;
    }
}
