using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Res2Net.AspNetCore;

/// <summary>Registers Res2Net in an application's services, on the options pattern.</summary>
public static class Res2NetServiceCollectionExtensions
{
    /// <summary>
    /// Registers the service (its limits configured by <paramref name="configure"/>, checked when the host starts) and
    /// what <see cref="Res2NetEndpointRouteBuilderExtensions.MapRes2Net"/> needs; add the models to serve on the
    /// builder returned. Each model is loaded and warmed up in the background when the host starts (<c>/readyz</c>
    /// answers 503 until all are).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the service's limits; null keeps the defaults.</param>
    public static Res2NetBuilder AddRes2Net(this IServiceCollection services, Action<Res2NetServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<Res2NetServiceOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return Core(services);
    }

    /// <summary>
    /// Registers the service with its limits bound from <paramref name="configuration"/> (a section such as
    /// <c>Res2Net</c>), one model per child of its <c>Models</c> section, named by the child's key, and every model of
    /// the Triton model repository its <c>Repository</c> key names (see <see cref="Res2NetBuilder.AddRepository"/>). In
    /// a container this is the environment: <c>Res2Net__Models__NAME__Source=/models/model.onnx</c>,
    /// <c>Res2Net__Repository=/models</c>, <c>Res2Net__MaxBodyBytes=...</c>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The Res2Net section: <c>MaxBodyBytes</c>, ..., <c>Repository</c>, <c>Models:NAME:Source</c>, ...</param>
    public static Res2NetBuilder AddRes2Net(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<Res2NetServiceOptions>().Bind(configuration).ValidateOnStart();
        var builder = Core(services);
        foreach (var model in configuration.GetSection("Models").GetChildren())
        {
            builder.AddModel(model.Key, model);
        }

        if (configuration["Repository"] is { Length: > 0 } repository)
        {
            builder.AddRepository(repository);
        }

        return builder;
    }

    private static Res2NetBuilder Core(IServiceCollection services)
    {
        var names = services.FirstOrDefault(d => d.ServiceType == typeof(Res2NetModelNames))?.ImplementationInstance is Res2NetModelNames known
            ? known.Names : null;
        if (names is null)
        {
            names = [];
            services.AddSingleton(new Res2NetModelNames(names));
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Res2NetServiceOptions>, Res2NetOptionsValidation>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Res2NetModelOptions>, Res2NetOptionsValidation>());
            services.AddSingleton(sp => new Res2NetModels(sp.GetRequiredService<Res2NetModelNames>(),
                sp.GetRequiredService<IOptionsMonitor<Res2NetModelOptions>>(), sp.GetRequiredService<IOptions<Res2NetServiceOptions>>()));
            services.AddHostedService<Res2NetHostedService>();

            // The protocol's gRPC service (mapped by MapRes2NetGrpc): messages bounded as REST bodies are.
            services.AddGrpc();
            services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<Res2NetServiceOptions>>((grpc, service) =>
            {
                grpc.MaxReceiveMessageSize = (int)Math.Min(service.Value.MaxBodyBytes, int.MaxValue);
                grpc.MaxSendMessageSize = null;
                grpc.EnableDetailedErrors = false;
            });
            services.AddSingleton<Protocol.GrpcInferenceEndpoint>();
        }

        return new Res2NetBuilder(services, names);
    }
}

/// <summary>The names of the models added, in order (the first is the default).</summary>
internal sealed record Res2NetModelNames(List<string> Names);
