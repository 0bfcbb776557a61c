using System.CommandLine;
using System.CommandLine.Help;
using Res2Net.Cli;
using Res2Net.Cli.Commands;

// Piped or redirected, tables keep their rows whole: Spectre would otherwise wrap them at 80 columns, breaking numbers.
if (Console.IsOutputRedirected)
{
    Spectre.Console.AnsiConsole.Profile.Width = 1024;
}

// A plain command as the root, so that help shows the tool's name (a RootCommand takes the assembly's, Res2Net.Cli).
var root = new Command("res2net", "Res2Net for .NET: build, load, run and convert the Res2Net model family.")
{
    Options.Verbose,
    new HelpOption(),
    new VersionOption(),
};
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ClassifyCommand.Create());
root.Subcommands.Add(FeaturesCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(CamCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
var parsed = root.Parse(args);
if (args.Length == 0)
{
    // No command: the overview, as a usage error.
    root.Parse(["--help"]).Invoke();
    return Run.Usage;
}

if (parsed.Errors.Count > 0)
{
    // A command line the tool cannot run: one sentence and exit 2, as for every other usage error ('--help' shows the rest).
    var command = parsed.CommandResult.Command == root ? "res2net --help lists the commands" : $"res2net {parsed.CommandResult.Command.Name} --help lists the options";
    var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
    StdErr.Line($"res2net: error: {error.Message.TrimEnd('.')} ({command}).");
    return Run.Usage;
}

return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
