using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Imaging;

namespace Res2Net.Cli.Commands;

internal static class CamCommand
{
    public static Command Create()
    {
        var flags = ModelFlags.Create(preprocessing: false, onnx: false, engine: false);
        var cls = new Option<int?>("--class", "-c") { Description = "Class index to explain (default: the top class)." };
        var stage = new Option<string?>("--stage", "-s") { Description = "Stage whose activations are weighted: c2..c5 (default: the last)." };
        var output = new Option<string>("--output", "-o") { Description = "PNG to write: the heatmap over the photo at its own size.", Required = true };
        var size = Options.Size();
        var format = Options.Format("text", "json");
        var image = new Argument<string>("image") { Description = "The photo to explain." };
        var command = new Command("cam", "Grad-CAM: where the network looked for a class, drawn over the photo.")
        {
            cls, stage, output, size, format, image,
        };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var photoPath = parse.GetValue(image)!;
            var photo = ImageDecoder.Decode(photoPath);
            FeatureStage? which = parse.GetValue(stage) is { } name
                ? name.ToLowerInvariant() switch
                {
                    "c2" => FeatureStage.C2,
                    "c3" => FeatureStage.C3,
                    "c4" => FeatureStage.C4,
                    "c5" => FeatureStage.C5,
                    _ => throw new InvalidOptionException("--stage", $"must be one of c2, c3, c4, c5 (got '{name}')"),
                }
                : null;

            // Grad-CAM needs gradients: a TorchSharp copy of the model, whatever the engine.
            // --size only: the map covers the whole photo, so no crop applies.
            using var predictor = await flags.OpenAsync(parse, cancel, gradCam: true, inputSize: parse.GetValue(size));
            var cam = predictor.Explain(photo, parse.GetValue(cls), which);
            var path = parse.GetValue(output)!;
            CamRenderer.WritePng(photo, cam, path);
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    image = photoPath,
                    output = path,
                    @class = cam.Class,
                    label = cam.Label,
                    prob = cam.Prob,
                    width = photo.Width,
                    height = photo.Height,
                }, Json.Compact));
            }
            else
            {
                Console.WriteLine($"{path}: {cam.Label} ({cam.Prob:P1}), class {cam.Class}, {photo.Width}x{photo.Height}");
            }

            return Run.Ok;
        }));
        return command;
    }
}
