namespace Res2Net.Client.Internal;

/// <summary>
/// One wire protocol. Each method is a single try with the per-try timeout applied; retries and argument checks are
/// <see cref="InferenceClient"/>'s.
/// </summary>
internal abstract class Transport : IDisposable
{
    public abstract InferenceTransport Kind { get; }

    public abstract Task<bool> IsServerLiveAsync(CancellationToken cancellationToken);

    public abstract Task<bool> IsServerReadyAsync(CancellationToken cancellationToken);

    public abstract Task<bool> IsModelReadyAsync(string model, string? version, CancellationToken cancellationToken);

    public abstract Task<ServerMetadata> GetServerMetadataAsync(CancellationToken cancellationToken);

    public abstract Task<ModelMetadata> GetModelMetadataAsync(string model, string? version, CancellationToken cancellationToken);

    public abstract Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken);

    public abstract void Dispose();
}
