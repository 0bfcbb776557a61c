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

    /// <summary>
    /// Writes one line to stderr with control characters shown as escapes: a file named with a newline or a terminal
    /// escape sequence cannot forge lines or drive the terminal.
    /// </summary>
    public static void Line(string text) => System.Console.Error.WriteLine(Printable(text));

    /// <summary>The text with control characters (other than tab) as \n, \r or \xHH.</summary>
    public static string Printable(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        var result = new System.Text.StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            result.Append(c switch
            {
                '\t' => "\t",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\x{(int)c:X2}",
                _ => c.ToString(),
            });
        }

        return result.ToString();
    }
}
