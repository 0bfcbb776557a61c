using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Res2Net.AspNetCore;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary>The service on ASP.NET Core's options pattern: bound from configuration, checked at start, several models by name.</summary>
public class ServiceOptionsTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    [Fact]
    public async Task Two_models_from_configuration_answer_under_their_own_names_and_an_unknown_name_is_404()
    {
        using var dir = new TempDir();
        var small = dir.File("small.onnx");
        var tiny = dir.File("tiny.onnx");
        using (var model = await Res2NetBackbone.CreateAsync(ModelSource.Checkpoint(weights.Path)))
        {
            OnnxExporter.Export(model, small);
        }

        using (var model = await Res2NetBackbone.CreateAsync(ModelSource.Untrained("res2net_cifar_tiny"), new BackboneOptions { NumClasses = 3, Seed = 2 }))
        {
            OnnxExporter.Export(model, tiny);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Res2Net:MaxBodyBytes"] = "2000000",
            ["Res2Net:Models:small:Source"] = small,
            ["Res2Net:Models:tiny:Source"] = tiny,
            ["Res2Net:Models:tiny:MaxBatch"] = "2",
        }).Build();
        await using var app = await StartAsync(b => b.Services.AddRes2Net(configuration.GetSection("Res2Net")));
        using var client = Client(app);
        var photo = await File.ReadAllBytesAsync(SmallWeights.Photo("coffee.png"));

        var models = JsonDocument.Parse(await client.GetStringAsync("v1/models")).RootElement.EnumerateArray().ToList();
        Assert.Equal(["small", "tiny"], models.Select(m => m.GetProperty("name").GetString()));
        Assert.Equal([10, 3], models.Select(m => m.GetProperty("num_classes").GetInt32()));
        Assert.Equal(2, models[1].GetProperty("max_batch").GetInt32());
        Assert.All(models, m => Assert.Equal(1.9, m.GetProperty("max_body_mb").GetDouble()));

        foreach (var (query, classes) in new[] { ("", 10), ("&model=small", 10), ("&model=tiny", 3) })
        {
            using var answer = await client.PostAsync($"v1/classify?topk=20{query}", new ByteArrayContent(photo));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(classes, JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("top").GetArrayLength());
        }

        using var unknown = await client.PostAsync("v1/classify?model=dogs", new ByteArrayContent(photo));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("This service serves no model named 'dogs' (it serves small, tiny).",
            JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());

        // Each model is a keyed service (and the first the unkeyed one), with its own metrics label.
        Assert.Equal("tiny", app.Services.GetRequiredKeyedService<Res2NetClassifier>("tiny").Name);
        Assert.Equal("small", app.Services.GetRequiredService<Res2NetClassifier>().Name);
        Assert.NotNull(app.Services.GetRequiredKeyedService<IEmbeddingGenerator<DataContent, Embedding<float>>>("tiny"));
        var metrics = await client.GetStringAsync("metrics");
        Assert.Contains("res2net_requests_total{route=\"classify\",status=\"200\",model=\"tiny\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("res2net_requests_total{route=\"classify\",status=\"200\",model=\"small\"} 2", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_out_of_range_stop_the_start_with_the_option_named()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(b =>
            b.Services.AddRes2Net().AddModel("small", o =>
            {
                o.Source = weights.Path;
                o.MaxBatch = 0;
            })));
        Assert.Equal("Res2Net model 'small': MaxBatch must be from 1 to 1,024 (got 0).", e.Message);

        var service = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(b =>
            b.Services.AddRes2Net(o => o.DecodeThreads = 0).AddModel("small", o => o.Source = weights.Path)));
        Assert.Equal("Res2Net: DecodeThreads must be from 1 to 1,024 (got 0).", service.Message);

        // The library's own rules, before anything is loaded: an ONNX file has no Grad-CAM.
        var cam = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(b =>
            b.Services.AddRes2Net().AddModel("x", o =>
            {
                o.Source = "model.onnx";
                o.GradCam = true;
            })));
        Assert.Equal("Res2Net model 'x': GradCam needs a checkpoint or a registered model: an ONNX file has no gradients.", cam.Message);

        var name = Assert.Throws<InvalidOptionException>(() => new ServiceCollection().AddRes2Net().AddModel("a b", o => o.Source = "x.onnx"));
        Assert.Equal("Name must be 1 to 128 letters, digits, '_', '-' or '.' (got 'a b').", name.Message);
    }

    private static async Task<WebApplication> StartAsync(Action<WebApplicationBuilder> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        configure(builder);
        var app = builder.Build();
        app.MapRes2Net();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        await Task.WhenAll(app.Services.GetRequiredService<Res2NetModels>().Select(c => c.Ready)).WaitAsync(TimeSpan.FromSeconds(60));
        return app;
    }

    private static HttpClient Client(WebApplication app) =>
        new() { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
}
