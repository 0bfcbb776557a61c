using System.Collections;
using Microsoft.Extensions.Options;

namespace Res2Net.AspNetCore;

/// <summary>
/// Every model the service serves, by name, in the order they were added (the first is the default). Registered as a
/// singleton; each model is a <see cref="Res2NetClassifier"/> with its own queue.
/// </summary>
public sealed class Res2NetModels : IReadOnlyCollection<Res2NetClassifier>, IDisposable
{
    private readonly Dictionary<string, Res2NetClassifier> byName;
    private readonly List<Res2NetClassifier> ordered;
    private readonly SemaphoreSlim decoding;

    internal Res2NetModels(Res2NetModelNames names, IOptionsMonitor<Res2NetModelOptions> models, IOptions<Res2NetServiceOptions> service)
    {
        Service = service.Value;
        decoding = new SemaphoreSlim(Service.DecodeThreads, Service.DecodeThreads);
        ordered = names.Names.Select(n => new Res2NetClassifier(n, models.Get(n), Service, Metrics, decoding)).ToList();
        byName = ordered.ToDictionary(c => c.Name, StringComparer.Ordinal);
    }

    /// <summary>The model served when a request names none: the first one added.</summary>
    /// <exception cref="InvalidOperationException">No model was added.</exception>
    public Res2NetClassifier Default => ordered.Count > 0 ? ordered[0]
        : throw new InvalidOperationException("No Res2Net model was added: call AddModel on the builder AddRes2Net returns.");

    /// <summary>The model named <paramref name="name"/>.</summary>
    /// <exception cref="UnknownServedModelException">No model has that name.</exception>
    public Res2NetClassifier this[string name] => TryGet(name, out var classifier) ? classifier! : throw new UnknownServedModelException(name, [.. byName.Keys]);

    /// <inheritdoc/>
    public int Count => ordered.Count;

    /// <summary>Whether every model is loaded and warm, and the service is not stopping.</summary>
    public bool IsReady => ordered.Count > 0 && ordered.All(c => c.IsReady);

    /// <summary>The service's limits.</summary>
    public Res2NetServiceOptions Service { get; }

    internal ServiceMetrics Metrics { get; } = new();

    /// <summary>Finds the model named <paramref name="name"/>.</summary>
    public bool TryGet(string name, out Res2NetClassifier? classifier) => byName.TryGetValue(name, out classifier);

    /// <inheritdoc/>
    public IEnumerator<Res2NetClassifier> GetEnumerator() => ordered.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Lets queued images finish, then releases every model.</summary>
    public void Dispose()
    {
        foreach (var classifier in ordered)
        {
            classifier.Dispose();
        }

        decoding.Dispose();
    }

    /// <summary>Turns readiness off while the requests in flight finish (the host is stopping).</summary>
    internal void Drain()
    {
        foreach (var classifier in ordered)
        {
            classifier.Draining = true;
        }
    }
}
