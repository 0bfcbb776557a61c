using System.CommandLine;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var input = new Option<string>("--input", "-i") { Description = "Checkpoint to read (.pth zip or legacy, .safetensors).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "File to write: .pth (PyTorch zip) or .safetensors.", Required = true };
        var command = new Command("convert", "Check a checkpoint against a model strictly and write it in another container.") { model, input, output };
        command.SetAction(parse => Run.Guarded(parse, () =>
        {
            var source = parse.GetValue(input)!;
            var target = parse.GetValue(output)!;
            using var net = ModelCheckpoint.Read(source, parse.GetValue(model)!).CreateModel();
            ModelWeights.Save(net, target);
            Console.Error.WriteLine($"wrote {target} ({ModelWeights.StateDict(net).Count} tensors)");
            return Run.Ok;
        }));
        return command;
    }
}
