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
        var grpcPort = new Option<int?>("--grpc-port") { Description = "Also serve the Open Inference Protocol over gRPC (HTTP/2) on this port (0: any free port, printed when ready)." };
        var repository = new Option<string?>("--repository") { Description = "Serve every model of a Triton model repository (as export --triton writes it) instead of --model/--weights/--onnx." };
        var stages = new Option<bool>("--stages") { Description = "Offer the stage maps c2..c5 as protocol outputs of a checkpoint or registered model (an ONNX file offers what it has)." };
        var command = new Command("serve",
            "Serve models over HTTP on 127.0.0.1: the Open Inference Protocol (/v2, REST; gRPC with --grpc-port), /v1/classify, /v1/embed, /v1/cam, /v1/models, /healthz, /readyz, /metrics and a demo page at /.")
        {
            host, port, grpcPort, repository, stages, maxBatch, maxDelay, maxQueue, maxBody, timeout, decodeThreads, noCam,
        };
        flags.AddTo(command);
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            foreach (var (value, flag) in new[] { (parse.GetValue(port), "--port"), (parse.GetValue(grpcPort) ?? 0, "--grpc-port") })
            {
                if (value is < 0 or > 65535)
                {
                    throw new InvalidOptionException(flag, $"must be from 0 to 65,535 (got {value})");
                }
            }

            if (parse.GetValue(grpcPort) is { } g && g != 0 && g == parse.GetValue(port))
            {
                throw new InvalidOptionException("--grpc-port", $"must differ from --port (both are {g}): gRPC needs a port of its own");
            }

            if (!System.Net.IPAddress.TryParse(parse.GetValue(host), out var address))
            {
                throw new InvalidOptionException("--host", $"must be an IP address such as 127.0.0.1 or 0.0.0.0 (got '{parse.GetValue(host)}')");
            }

            var repositoryDir = parse.GetValue(repository);
            ModelSource? source = null;
            string? name = null;
            if (repositoryDir is null)
            {
                source = flags.Source(parse);
                // The model's name in URLs and metrics: the registered model's, else the ONNX file's.
                name = parse.GetValue(flags.Model) is { } m ? ModelRegistry.Get(m).Name : Path.GetFileNameWithoutExtension(source.Location);
                if (source.Kind == ModelSourceKind.Pretrained)
                {
                    // Downloaded here, with its bar and license, before the server starts.
                    using var download = new ModelFlags.DownloadReport(source);
                    source = ModelSource.Checkpoint(await ModelCheckpoint.DownloadAsync(source.Location, null, download, cancel), name);
                }
            }
            else if (parse.GetValue(flags.Model) is not null || parse.GetValue(flags.Weights) is not null || (flags.Onnx is not null && parse.GetValue(flags.Onnx) is not null))
            {
                throw new InvalidOptionException("--repository", "excludes --model, --weights and --onnx (the repository says what to serve)");
            }

            var modelOptions = flags.Settings(parse);
            void ConfigureModel(Res2NetModelOptions o)
            {
                if (source is not null)
                {
                    o.Source = source.Location;
                    o.Model = source.Model;
                    o.GradCam = !parse.GetValue(noCam) && source.Kind != ModelSourceKind.Onnx;
                }

                o.Engine = modelOptions.Engine;
                o.Precision = modelOptions.Precision;
                o.Threads = modelOptions.Threads;
                o.StageOutputs = parse.GetValue(stages);
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
            var check = new Res2NetModelOptions { Source = source?.Location ?? "repository.onnx", Model = source?.Model };
            ConfigureModel(check);
            check.Validate();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Res2Net", LogLevel.Information);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(address, parse.GetValue(port));
                if (parse.GetValue(grpcPort) is { } grpc)
                {
                    // gRPC speaks HTTP/2; without TLS a port speaks one protocol, so it has its own.
                    kestrel.Listen(address, grpc, listen => listen.Protocols = HttpProtocols.Http2);
                }

                kestrel.AddServerHeader = false;

                // A slow client (slowloris) is cut off: headers within 10 s, the body at 240 bytes/s after 5 s.
                kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Limits.RequestHeadersSeconds);
                kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(Limits.MinBodyBytesPerSecond, TimeSpan.FromSeconds(Limits.MinBodyRateGraceSeconds));
                kestrel.Limits.MaxRequestBodySize = service.MaxBodyBytes;
            });
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = check.Timeout + TimeSpan.FromSeconds(5));
            var res2net = builder.Services.AddRes2Net(ConfigureService);
            if (repositoryDir is not null)
            {
                res2net.AddRepository(repositoryDir, ConfigureModel);
            }
            else
            {
                res2net.AddModel(name!, ConfigureModel);
            }

            await using var app = builder.Build();
            app.MapRes2Net();
            app.MapRes2NetGrpc();
            await app.StartAsync(cancel);

            var models = app.Services.GetRequiredService<Res2NetModels>();
            foreach (var classifier in models)
            {
                try
                {
                    await classifier.Ready.WaitAsync(cancel);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    await app.StopAsync(CancellationToken.None);
                    throw new Res2NetException(models.Count == 1 ? $"the model could not be loaded: {e.Message}" : $"the model {classifier.Name} could not be loaded: {e.Message}");
                }
            }

            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
            var rest = addresses[0];
            var served = models.Count == 1
                ? $"{models.Default.Metadata.Model} ({models.Default.EngineKind.Name()}, {models.Default.Precision.Name()})"
                : $"{models.Count} models ({string.Join(", ", models.Select(c => $"{c.Name}: {c.EngineKind.Name()}, {c.Precision.Name()}"))})";
            var grpcAt = addresses.Count > 1 ? $" and grpc://{new Uri(addresses[1]).Authority}" : "";
            Console.WriteLine($"res2net: serving {served} at {rest}/{grpcAt} (Ctrl-C stops)");
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
