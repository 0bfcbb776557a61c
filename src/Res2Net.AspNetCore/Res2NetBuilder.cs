using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Res2Net.AspNetCore;

/// <summary>
/// Adds the models a Res2Net service serves, each under its own name (<see cref="AddModel(string, Action{Res2NetModelOptions})"/>):
/// its own options, classifier, batching queue and metrics. Returned by
/// <see cref="Res2NetServiceCollectionExtensions.AddRes2Net(IServiceCollection, Action{Res2NetServiceOptions}?)"/>.
/// </summary>
public sealed class Res2NetBuilder
{
    private readonly List<string> names;

    internal Res2NetBuilder(IServiceCollection services, List<string> names)
    {
        Services = services;
        this.names = names;
    }

    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Serves a model under <paramref name="name"/> (in URLs: <c>/v1/classify?model=NAME</c>): named options, configured
    /// by <paramref name="configure"/> and checked when the host starts. The first model added is the default, and is
    /// also registered as the unkeyed <see cref="Res2NetClassifier"/> and embedding generator; every model is a keyed one.
    /// </summary>
    /// <exception cref="InvalidOptionException">The name is not a plain name or is taken.</exception>
    public Res2NetBuilder AddModel(string name, Action<Res2NetModelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Register(name).Configure(configure);
        return this;
    }

    /// <summary>Serves a model under <paramref name="name"/>, its options bound from <paramref name="configuration"/> (a section such as <c>Res2Net:Models:NAME</c>).</summary>
    /// <exception cref="InvalidOptionException">The name is not a plain name or is taken.</exception>
    public Res2NetBuilder AddModel(string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Register(name).Bind(configuration);
        return this;
    }

    /// <summary>
    /// Serves every model of a Triton model repository (as <c>res2net export --triton</c> writes it, and as Triton reads
    /// it): each folder with a <c>config.pbtxt</c> is a model named by the folder, served from its highest numbered
    /// version folder's ONNX file (<c>N/model.onnx</c>, or the configuration's <c>default_model_filename</c>) as that
    /// version, batching at most the configuration's <c>max_batch_size</c> images; <paramref name="configure"/> sets the
    /// rest of each model's options. The first model in name order is the default. The folder is read now.
    /// </summary>
    /// <param name="repository">The model repository folder.</param>
    /// <param name="configure">Sets each model's other options (engine, threads, queue); called after the repository's own.</param>
    /// <exception cref="Res2NetException">The folder, a configuration or a model folder is unusable; the message names it.</exception>
    public Res2NetBuilder AddRepository(string repository, Action<Res2NetModelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(repository);
        foreach (var model in Protocol.TritonRepositoryReader.Read(repository))
        {
            AddModel(model.Name, o =>
            {
                o.Source = model.ModelFile;
                o.Version = model.Version;
                if (model.MaxBatchSize > 0)
                {
                    o.MaxBatch = model.MaxBatchSize;
                }

                configure?.Invoke(o);
                if (model.MaxBatchSize > 0)
                {
                    // Triton never batches more than the configuration says: neither does this service.
                    o.MaxBatch = Math.Min(o.MaxBatch, model.MaxBatchSize);
                }
            });
        }

        return this;
    }

    private OptionsBuilder<Res2NetModelOptions> Register(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // Names appear in URLs, metrics labels and logs: letters, digits and a few separators only.
        if (name.Length is 0 or > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') || name.StartsWith('.'))
        {
            throw new InvalidOptionException("Name", $"must be 1 to 128 letters, digits, '_', '-' or '.' (got '{name}')");
        }

        if (names.Contains(name, StringComparer.Ordinal))
        {
            throw new InvalidOptionException("Name", $"'{name}' names a model already added");
        }

        names.Add(name);
        var first = names.Count == 1;
        Services.AddKeyedSingleton(name, (sp, _) => sp.GetRequiredService<Res2NetModels>()[name]);
        Services.AddKeyedSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>>(name,
            (sp, _) => new Res2NetEmbeddingGenerator(sp.GetRequiredService<Res2NetModels>()[name]));
        if (first)
        {
            Services.TryAddSingleton(sp => sp.GetRequiredService<Res2NetModels>().Default);
            Services.TryAddSingleton<IEmbeddingGenerator<DataContent, Embedding<float>>>(sp => new Res2NetEmbeddingGenerator(sp.GetRequiredService<Res2NetModels>().Default));
        }

        return Services.AddOptions<Res2NetModelOptions>(name).ValidateOnStart();
    }
}
