using System.Diagnostics;

namespace Res2Net.Tests.Cli;

/// <summary>Runs the res2net tool as a separate process, as users and scripts do.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(params string[] args)
    {
        var cliDll = Path.Combine(AppContext.BaseDirectory, "Res2Net.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(cliDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // No network: a model's default weights must never be fetched by a test.
        start.Environment["RES2NET_MIRROR"] = "http://127.0.0.1:9/";
        start.Environment["RES2NET_HOME"] = Path.Combine(Path.GetTempPath(), "res2net-cli-test-cache-" + Guid.NewGuid().ToString("N"));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("res2net " + string.Join(' ', args) + " did not finish in 120 s.");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
