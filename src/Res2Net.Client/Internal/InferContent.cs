using System.Net;

namespace Res2Net.Client.Internal;

/// <summary>
/// A REST inference body: the JSON header, then the tensors' bytes straight from their memory, so that a large input
/// is not copied into one more buffer. A new one is made for each try, as an HTTP request cannot be sent twice.
/// </summary>
internal sealed class InferContent : HttpContent
{
    private readonly byte[] json;
    private readonly IReadOnlyList<ReadOnlyMemory<byte>> blobs;

    public InferContent(byte[] json, IReadOnlyList<ReadOnlyMemory<byte>> blobs)
    {
        this.json = json;
        this.blobs = blobs;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(json, cancellationToken).ConfigureAwait(false);
        foreach (var blob in blobs)
        {
            await stream.WriteAsync(blob, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = json.Length;
        foreach (var blob in blobs)
        {
            length += blob.Length;
        }

        return true;
    }
}
