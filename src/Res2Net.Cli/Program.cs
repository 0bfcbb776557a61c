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
return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
