using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Res2Net.AspNetCore;

/// <summary>Registers Res2Net in an application's services.</summary>
public static class Res2NetServiceCollectionExtensions
{
    /// <summary>
    /// Registers the shared <see cref="Res2NetClassifier"/> (loaded and warmed up in the background when the host
    /// starts), an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of photos, and what
    /// <see cref="Res2NetEndpointRouteBuilderExtensions.MapRes2Net"/> needs.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets what to serve (<see cref="Res2NetServiceOptions.OnnxFile"/> or an engine) and the limits.</param>
    /// <exception cref="InvalidOptionException">An option is out of range.</exception>
    public static IServiceCollection AddRes2Net(this IServiceCollection services, Action<Res2NetServiceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new Res2NetServiceOptions();
        configure(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton(_ => new Res2NetClassifier(options));
        services.AddSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>, Res2NetEmbeddingGenerator>();
        services.AddHostedService<Res2NetHostedService>();
        return services;
    }
}
