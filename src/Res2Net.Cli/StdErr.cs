using Spectre.Console;

namespace Res2Net.Cli;

/// <summary>Progress and status go to stderr so that stdout stays clean for tables and JSON.</summary>
internal static class StdErr
{
    public static bool IsTerminal => !System.Console.IsErrorRedirected;

    public static IAnsiConsole Console { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(System.Console.Error),
    });
}
