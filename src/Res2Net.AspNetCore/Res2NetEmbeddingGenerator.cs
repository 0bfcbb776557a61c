using Microsoft.Extensions.AI;

namespace Res2Net.AspNetCore;

/// <summary>
/// Photo embeddings the way .NET code asks for embeddings (Microsoft.Extensions.AI): each <see cref="DataContent"/> an
/// encoded photo, each embedding the model's pooled features, computed in the model's dynamic batches. Registered for
/// every model (keyed by its name) and, unkeyed, for the default one.
/// </summary>
public sealed class Res2NetEmbeddingGenerator : IEmbeddingGenerator<DataContent, Embedding<float>>
{
    private readonly Res2NetClassifier classifier;

    /// <summary>A generator over one served model.</summary>
    public Res2NetEmbeddingGenerator(Res2NetClassifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        this.classifier = classifier;
    }

    /// <inheritdoc/>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        await classifier.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        var photos = values.ToList();
        var vectors = await Task.WhenAll(photos.Select((p, i) => classifier.EmbedAsync(p.Data, p.Name ?? $"value {i}", cancellationToken))).ConfigureAwait(false);
        var model = classifier.Metadata.Model;
        return new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = model, CreatedAt = DateTimeOffset.UtcNow }));
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return new EmbeddingGeneratorMetadata("res2net", null, classifier.IsReady ? classifier.Metadata.Model : null, null);
        }

        return serviceType.IsInstanceOfType(this) ? this : serviceType.IsInstanceOfType(classifier) ? classifier : null;
    }

    /// <summary>Nothing to release: the classifier belongs to the application's services.</summary>
    public void Dispose()
    {
    }
}
