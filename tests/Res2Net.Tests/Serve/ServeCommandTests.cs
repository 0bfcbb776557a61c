using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary><c>res2net serve</c> as a process: the URL once ready, slow clients cut off, SIGTERM finishing what is in flight.</summary>
public partial class ServeCommandTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    [Fact]
    public async Task Serve_prints_its_url_when_ready_cuts_off_a_slow_client_and_stops_cleanly_on_sigterm()
    {
        using var serve = Start("serve", "--model", "res2net_small", "--weights", weights.Path, "--engine", "onnx", "--port", "0", "--no-cam");
        var url = await serve.UrlAsync();
        Assert.StartsWith("http://127.0.0.1:", url, StringComparison.Ordinal);
        using var client = new HttpClient { BaseAddress = new Uri(url) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("readyz")).StatusCode);

        // Slowloris: a body promised and then sent a byte at a time, slower than 240 bytes/s, is cut off.
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, new Uri(url).Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
        var clock = Stopwatch.StartNew();
        var cut = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                await stream.WriteAsync(new byte[] { 0 });
                await Task.Delay(500);
                if (slow.Client.Poll(0, SelectMode.SelectRead) && slow.Available == 0)
                {
                    cut = true;
                    break;
                }
            }
            catch (IOException)
            {
                cut = true;
                break;
            }
        }

        Assert.True(cut, "a client sending 2 bytes/s was not cut off within 20 s");

        // A request in flight when SIGTERM arrives is still answered; then the process exits 0.
        using var body = new ByteArrayContent(File.ReadAllBytes(SmallWeights.Photo("astronaut.png")));
        var inFlight = client.PostAsync("v1/classify", body);
        await Task.Delay(20);
        Assert.Equal(0, Kill(serve.Process.Id, 15));
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(serve.Process.WaitForExit(30_000), "serve did not stop within 30 s of SIGTERM");
        Assert.Equal(0, serve.Process.ExitCode);
    }

    [Fact]
    public void Serve_refuses_bad_options_in_one_line_before_loading_anything()
    {
        using var serve = Start("serve", "--model", "res2net_small", "--weights", weights.Path, "--host", "localhost.example");
        Assert.True(serve.Process.WaitForExit(30_000));
        serve.Process.WaitForExit(); // the redirected output, read to its end
        Assert.Equal(2, serve.Process.ExitCode);
        Assert.Equal("res2net: error: --host must be an IP address such as 127.0.0.1 or 0.0.0.0 (got 'localhost.example').", serve.StdErr.ToString().Trim());

        using var queue = Start("serve", "--model", "res2net_small", "--weights", weights.Path, "--max-queue", "0");
        Assert.True(queue.Process.WaitForExit(30_000));
        queue.Process.WaitForExit();
        Assert.Equal(2, queue.Process.ExitCode);
        Assert.Equal("res2net: error: --max-queue must be from 1 to 1,000,000 (got 0).", queue.StdErr.ToString().Trim());
    }

    [Fact]
    public async Task Serve_repository_serves_what_export_triton_wrote_over_rest_and_grpc_and_names_both_addresses()
    {
        using var dir = new TempDir();
        var export = Cli.CliRunner.Run(["export", "--model", "res2net_small", "--weights", weights.Path, "--triton", dir.Path]);
        Assert.True(export.ExitCode == 0, export.StdErr);
        var second = Cli.CliRunner.Run(["export", "--model", "res2net_small", "--weights", weights.Path, "--triton", Path.Combine(dir.Path, "other")]);
        Assert.True(second.ExitCode == 0, second.StdErr);
        // A second model: the same export under another name, as a Triton user would copy a model folder.
        Directory.Move(Path.Combine(dir.Path, "other", "res2net_small"), Path.Combine(dir.Path, "small_copy"));
        Directory.Delete(Path.Combine(dir.Path, "other"));
        var config = Path.Combine(dir.Path, "small_copy", "config.pbtxt");
        File.WriteAllText(config, File.ReadAllText(config).Replace("name: \"res2net_small\"", "name: \"small_copy\"", StringComparison.Ordinal));

        using var serve = Start("serve", "--repository", dir.Path, "--port", "0", "--grpc-port", "0");
        var ready = await serve.ReadyLineAsync();
        var match = Regex.Match(ready, @"^res2net: serving 2 models \(res2net_small: onnx, fp32, small_copy: onnx, fp32\) at (http://127\.0\.0\.1:\d+)/ and grpc://(127\.0\.0\.1:\d+) \(Ctrl-C stops\)$");
        Assert.True(match.Success, ready);
        using var client = new HttpClient { BaseAddress = new Uri(match.Groups[1].Value) };
        foreach (var name in new[] { "res2net_small", "small_copy" })
        {
            using var metadata = await client.GetAsync($"v2/models/{name}");
            Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        }

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://" + match.Groups[2].Value);
        var grpc = new Inference.GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.True((await grpc.ModelReadyAsync(new Inference.ModelReadyRequest { Name = "small_copy" })).Ready);

        using var both = Start("serve", "--repository", dir.Path, "--model", "res2net_small");
        Assert.True(both.Process.WaitForExit(30_000));
        both.Process.WaitForExit();
        Assert.Equal(2, both.Process.ExitCode);
        Assert.Equal("res2net: error: --repository excludes --model, --weights and --onnx (the repository says what to serve).", both.StdErr.ToString().Trim());
    }

    /// <summary>Sends a signal as a service manager would (kill -TERM).</summary>
    private static int Kill(int pid, int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        return kill.ExitCode;
    }

    private static Running Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Res2Net.Cli.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["RES2NET_MIRROR"] = "http://127.0.0.1:9/";
        return new Running(Process.Start(start)!);
    }

    private sealed partial class Running : IDisposable
    {
        private readonly TaskCompletionSource<string> url = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<string> line = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Running(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } text && Url().Match(text) is { Success: true } m)
                {
                    url.TrySetResult(m.Groups[1].Value);
                    line.TrySetResult(text);
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (StdErr)
                {
                    StdErr.AppendLine(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public StringBuilder StdErr { get; } = new();

        public Task<string> UrlAsync() => url.Task.WaitAsync(TimeSpan.FromSeconds(90));

        /// <summary>The whole ready line.</summary>
        public Task<string> ReadyLineAsync() => line.Task.WaitAsync(TimeSpan.FromSeconds(90));

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }

        [GeneratedRegex(@" at (http://\S+?)/ (?:and grpc://\S+ )?\(Ctrl-C stops\)")]
        private static partial Regex Url();
    }
}
