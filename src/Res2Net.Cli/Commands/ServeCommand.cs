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
using Res2Net.Explain;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var weights = Options.Weights(required: false);
        var onnx = Options.OnnxFile();
        var engine = Options.Engine();
        var precision = Options.Precision();
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
            model, weights, onnx, engine, precision, host, port, maxBatch, maxDelay, maxQueue, maxBody, timeout, decodeThreads, noCam,
        };
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var onnxFile = parse.GetValue(onnx);
            if (onnxFile is not null && parse.GetValue(weights) is not null)
            {
                throw new InvalidOptionException("--onnx", "and --weights exclude each other (an ONNX file carries its weights)");
            }

            var kind = InferenceEngines.Parse(parse.GetValue(engine)!);
            var p = Precisions.Parse(parse.GetValue(precision)!);
            Precisions.Check(p, onnxFile is null ? InferenceEngines.Resolve(kind, p) : EngineKind.Onnx);
            if (parse.GetValue(port) is < 0 or > 65535)
            {
                throw new InvalidOptionException("--port", $"must be from 0 to 65,535 (got {parse.GetValue(port)})");
            }

            if (!System.Net.IPAddress.TryParse(parse.GetValue(host), out var address))
            {
                throw new InvalidOptionException("--host", $"must be an IP address such as 127.0.0.1 or 0.0.0.0 (got '{parse.GetValue(host)}')");
            }

            Func<IServiceProvider, IInferenceEngine>? engineFactory = null;
            Func<IServiceProvider, IClassActivationMapper>? mapperFactory = null;
            if (onnxFile is null)
            {
                var weightsPath = await WeightsResolver.ResolveAsync(info, parse.GetValue(weights), cancel);
                var checkpoint = ModelCheckpoint.Read(weightsPath, info.Name);
                engineFactory = _ => InferenceEngines.Load(checkpoint, kind, p);
                if (!parse.GetValue(noCam))
                {
                    mapperFactory = _ => GradCamExplainer.Load(weightsPath, info.Name);
                }
            }

            // One description of the service, checked here and given to AddRes2Net as it is.
            void Configure(Res2NetServiceOptions o)
            {
                o.OnnxFile = onnxFile;
                o.Engine = engineFactory;
                o.ClassActivationMapper = mapperFactory;
                o.MaxBatch = parse.GetValue(maxBatch);
                o.MaxDelay = TimeSpan.FromMilliseconds(parse.GetValue(maxDelay));
                o.MaxQueue = parse.GetValue(maxQueue);
                o.MaxBodyBytes = (long)(parse.GetValue(maxBody) * 1048576);
                o.Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout));
                o.DecodeThreads = parse.GetValue(decodeThreads) ?? o.DecodeThreads;
            }

            var options = new Res2NetServiceOptions();
            Configure(options);
            options.Validate();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Res2Net", LogLevel.Information);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(address, parse.GetValue(port));
                kestrel.AddServerHeader = false;

                // A slow client (slowloris) is cut off: headers within 10 s, the body at 240 bytes/s after 5 s.
                kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
                kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(240, TimeSpan.FromSeconds(5));
                kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            });
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.Timeout + TimeSpan.FromSeconds(5));
            builder.Services.AddRes2Net(Configure);
            await using var app = builder.Build();
            app.MapRes2Net();
            await app.StartAsync(cancel);

            var classifier = app.Services.GetRequiredService<Res2NetClassifier>();
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
            Console.WriteLine($"res2net: serving {classifier.Metadata.Model} ({classifier.EngineName}, {classifier.Precision}) at {url}/ (Ctrl-C stops)");
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
