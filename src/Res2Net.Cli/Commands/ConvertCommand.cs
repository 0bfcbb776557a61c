using System.CommandLine;
using Res2Net.Engines;
using Res2Net.Models;

namespace Res2Net.Cli.Commands;

internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var input = new Option<string>("--input", "-i") { Description = "Checkpoint to read (.pth zip or legacy, .safetensors)." };
        var fresh = new Option<bool>("--fresh") { Description = "Write freshly initialised weights of --model instead of reading --input (for timing and trials)." };
        var output = new Option<string>("--output", "-o") { Description = "File to write: .pth (PyTorch zip) or .safetensors.", Required = true };
        var command = new Command("convert", "Check a checkpoint against a model strictly and write it in another container.") { model, input, fresh, output };
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var source = parse.GetValue(input);
            if ((source is null) != parse.GetValue(fresh))
            {
                throw new InvalidOptionException("--input", "or --fresh must say what to write, one of them");
            }

            var target = parse.GetValue(output)!;
            var name = parse.GetValue(model)!;
            using var net = await Res2NetBackbone.CreateAsync(source is null ? ModelSource.Untrained(name) : ModelSource.Checkpoint(source, name), cancellationToken: cancel);
            net.Save(target);
            Console.Error.WriteLine($"wrote {target} ({net.state_dict().Count} tensors)");
            return Run.Ok;
        }));
        return command;
    }
}
