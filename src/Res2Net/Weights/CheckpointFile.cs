using System.Buffers.Binary;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>Reads a state dict from any supported file by its content, and writes one by extension.</summary>
internal static class CheckpointFile
{
    /// <summary>The container of a weights file, judged by its first bytes (not its name).</summary>
    /// <exception cref="CheckpointFormatException">The file is none of the supported containers.</exception>
    public static CheckpointContainer Detect(string path)
    {
        byte[] head = FormatFiles.ReadHead(path, 16);
        if (head.Length == 0)
        {
            throw For(path, "the file is empty");
        }

        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
        {
            return CheckpointContainer.PyTorchZip;
        }
        // A legacy torch.save starts with the pickle of its magic number: PROTO 2 to 5, a FRAME from protocol 4 on, then
        // LONG1 of 10 bytes (torch.save(..., pickle_protocol=p, _use_new_zipfile_serialization=False)).
        if (head.Length >= 4 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
        {
            var at = head[1] >= 4 && head.Length >= 11 && head[2] == 0x95 ? 11 : 2;
            if (head.Length >= at + 2 && head[at] == 0x8a && head[at + 1] == 10)
            {
                return CheckpointContainer.PyTorchLegacy;
            }
        }
        // safetensors: an 8-byte length, then the JSON header's '{'.
        if (head.Length >= 9 && head[8] == '{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < (1UL << 48))
        {
            return CheckpointContainer.SafeTensors;
        }

        throw For(path, $"not a PyTorch checkpoint or safetensors file ({FormatFiles.DescribeStart(path)})");
    }

    /// <summary>The state dict of a .pth/.pt/.bin (zip or legacy) or .safetensors file, whatever its name.</summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path) => ReadStateDict(path, out _);

    /// <summary>
    /// The state dict and the <see cref="Models.ModelMetadata"/> JSON the file carries (a zip checkpoint's
    /// <c>res2net/metadata.json</c> entry or a safetensors header's <c>res2net.metadata</c>; null for files from elsewhere).
    /// </summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path, out string? metadataJson)
    {
        switch (Detect(path))
        {
            case CheckpointContainer.SafeTensors:
                var tensors = SafeTensors.ReadStateDict(path, out var header);
                metadataJson = header.TryGetValue(Models.ModelMetadata.Key, out var json) ? json : null;
                return tensors;
            default:
                return PyTorchCheckpoint.ReadStateDict(path, out metadataJson);
        }
    }

    /// <summary>
    /// Writes by extension: .pth, .pt, .bin, .ckpt as a torch zip checkpoint; .safetensors as safetensors; with
    /// <paramref name="metadataJson"/> stored where <see cref="ReadStateDict(string, out string?)"/> finds it.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, TensorData>> tensors, string? metadataJson = null)
    {
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".pth" or ".pt" or ".bin" or ".ckpt":
                PyTorchCheckpoint.WriteStateDict(path, tensors, metadataJson);
                break;
            case ".safetensors":
                SafeTensors.Write(path, tensors, metadataJson is null ? null : new Dictionary<string, string> { [Models.ModelMetadata.Key] = metadataJson });
                break;
            default:
                throw new Res2NetException($"{Path.GetFileName(path)}: unknown weights extension '{Path.GetExtension(path)}'; use .pth, .pt, .bin or .safetensors.");
        }
    }
}
