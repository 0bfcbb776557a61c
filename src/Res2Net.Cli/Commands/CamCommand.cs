using System.CommandLine;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Imaging;
using Res2Net.Models;
using static TorchSharp.torch;

namespace Res2Net.Cli.Commands;

internal static class CamCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var weights = Options.Weights(required: false);
        var cls = new Option<int?>("--class", "-c") { Description = "Class index to explain (default: the top class)." };
        var stage = new Option<string?>("--stage", "-s") { Description = "Stage whose activations are weighted: c2..c5 (default: the last)." };
        var output = new Option<string>("--output", "-o") { Description = "PNG to write: the heatmap over the photo at its own size.", Required = true };
        var size = Options.Size();
        var format = Options.Format("text", "json");
        var image = new Argument<string>("image") { Description = "The photo to explain." };
        var command = new Command("cam", "Grad-CAM: where the network looked for a class, drawn over the photo.")
        {
            model, weights, cls, stage, output, size, format, image,
        };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var photoPath = parse.GetValue(image)!;
            var photo = ImageDecoder.Decode(photoPath);
            // Grad-CAM needs gradients: always the TorchSharp engine.
            using var engine = TorchEngine.Load(info.Name, WeightsResolver.Resolve(info, parse.GetValue(weights)));
            var net = engine.Model;
            var preprocessor = Predictors.Preprocessor(info, parse.GetValue(size), cropPct: null, net.Config.InChannels);
            int? stageIndex = parse.GetValue(stage) is { } name
                ? net.Stages.Select((s, i) => (s, i)).FirstOrDefault(p => p.s.Name == name.ToLowerInvariant(), (default, -1)).Item2
                : null;
            if (stageIndex == -1)
            {
                throw new ArgumentException($"--stage must be one of {string.Join(", ", net.Stages.Select(s => s.Name))}.");
            }

            // The whole photo, its shorter side at the model's resize size: the map covers all of it, not only the crop.
            using var input = preprocessor.ProcessUncropped(photo);
            using var batch = input.unsqueeze(0);
            var cam = GradCam.Compute(net, batch, parse.GetValue(cls), stageIndex, engine.Labels);
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
