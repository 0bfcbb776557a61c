using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Res2Net.AspNetCore;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var flags = ModelFlags.Create(preprocessing: false, threads: true);
        var host = new Option<string>("--host") { Description = "Address to listen on: 127.0.0.1 (this machine only), or 0.0.0.0 for every interface.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "Port to listen on (0: any free port, printed when ready).", DefaultValueFactory = _ => 8080 };
        var maxBatch = new Option<int>("--max-batch") { Description = "The most images in one forward pass (requests arriving together are batched).", DefaultValueFactory = _ => 8 };
        var maxDelay = new Option<double>("--max-delay-ms") { Description = "How long the first image of a batch waits for others, in milliseconds.", DefaultValueFactory = _ => 5 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Images waiting for the model beyond which requests get 503 with Retry-After.", DefaultValueFactory = _ => 64 };
        var maxBody = new Option<double>("--max-body-mb") { Description = "The largest request body in MB; larger ones get 413 unread.", DefaultValueFactory = _ => 16 };
        var timeout = new Option<double>("--timeout-s") { Description = "How long a request may wait for the model, in seconds, before 503.", DefaultValueFactory = _ => 30 };
        var decodeThreads = new Option<int?>("--decode-threads") { Description = "Photos decoded at once, outside the model (default: one fewer than the cores, at least one)." };
        var noCam = new Option<bool>("--no-cam") { Description = "Do not load the second copy of the model /v1/cam needs (Grad-CAM runs on TorchSharp)." };
        var command = new Command("serve", "Serve a model over HTTP on 127.0.0.1: /v1/classify, /v1/embed, /v1/cam, /v1/models, /healthz, /readyz, /metrics and a demo page at /.")
        {
            host, port, maxBatch, maxDelay, maxQueue, maxBody, timeout, decodeThreads, noCam,
        };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var source = flags.Source(parse);
            if (parse.GetValue(port) is < 0 or > 65535)
            {
                throw new InvalidOptionException("--port", $"must be from 0 to 65,535 (got {parse.GetValue(port)})");
            }

            if (!System.Net.IPAddress.TryParse(parse.GetValue(host), out var address))
            {
                throw new InvalidOptionException("--host", $"must be an IP address such as 127.0.0.1 or 0.0.0.0 (got '{parse.GetValue(host)}')");
            }

            // The model's name in URLs and metrics: the registered model's, else the ONNX file's.
            var name = parse.GetValue(flags.Model) is { } m ? ModelRegistry.Get(m).Name : Path.GetFileNameWithoutExtension(source.Location);
            if (source.Kind == ModelSourceKind.Pretrained)
            {
                // Downloaded here, with its bar and license, before the server starts.
                using var download = new ModelFlags.DownloadReport(source);
                source = ModelSource.Checkpoint(await ModelCheckpoint.DownloadAsync(source.Location, null, download, cancel), name);
            }

            var modelOptions = flags.Settings(parse);
            void ConfigureModel(Res2NetModelOptions o)
            {
                o.Source = source.Location;
                o.Model = source.Model;
                o.Engine = modelOptions.Engine;
                o.Precision = modelOptions.Precision;
                o.Threads = modelOptions.Threads;
                o.GradCam = !parse.GetValue(noCam) && source.Kind != ModelSourceKind.Onnx;
                o.MaxBatch = parse.GetValue(maxBatch);
                o.MaxDelay = TimeSpan.FromMilliseconds(parse.GetValue(maxDelay));
                o.MaxQueue = parse.GetValue(maxQueue);
                o.Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout));
            }

            void ConfigureService(Res2NetServiceOptions o)
            {
                o.MaxBodyBytes = (long)(parse.GetValue(maxBody) * 1048576);
                o.DecodeThreads = parse.GetValue(decodeThreads) ?? o.DecodeThreads;
            }

            // Checked here, before the server starts, as the host checks them again when it starts.
            var service = new Res2NetServiceOptions();
            ConfigureService(service);
            service.Validate();
            var check = new Res2NetModelOptions();
            ConfigureModel(check);
            check.Validate();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Res2Net", LogLevel.Information);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(address, parse.GetValue(port));
                kestrel.AddServerHeader = false;

                // A slow client (slowloris) is cut off: headers within 10 s, the body at 240 bytes/s after 5 s.
                kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Limits.RequestHeadersSeconds);
                kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(Limits.MinBodyBytesPerSecond, TimeSpan.FromSeconds(Limits.MinBodyRateGraceSeconds));
                kestrel.Limits.MaxRequestBodySize = service.MaxBodyBytes;
            });
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = check.Timeout + TimeSpan.FromSeconds(5));
            builder.Services.AddRes2Net(ConfigureService).AddModel(name, ConfigureModel);
            await using var app = builder.Build();
            app.MapRes2Net();
            await app.StartAsync(cancel);

            var classifier = app.Services.GetRequiredService<Res2NetModels>().Default;
            try
            {
                await classifier.Ready.WaitAsync(cancel);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await app.StopAsync(CancellationToken.None);
                throw new Res2NetException($"the model could not be loaded: {e.Message}");
            }

            var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Console.WriteLine($"res2net: serving {classifier.Metadata.Model} ({classifier.EngineKind.Name()}, {classifier.Precision.Name()}) at {url}/ (Ctrl-C stops)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancel);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM: stop taking connections, finish the requests in flight, then exit normally.
            }

            Console.Error.WriteLine("res2net: stopping; finishing the requests in flight");
            await app.StopAsync(CancellationToken.None);
            return Run.Ok;
        }));
        return command;
    }
}
