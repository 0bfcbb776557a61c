using System.CommandLine;
using Res2Net.Cli;
using Res2Net.Cli.Commands;

var root = new RootCommand("Res2Net for .NET: build, load, run and convert the Res2Net model family.")
{
    Options.Verbose,
};
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ClassifyCommand.Create());
root.Subcommands.Add(FeaturesCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
