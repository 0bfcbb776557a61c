using System.Buffers.Binary;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>Reads a state dict from any supported file by its content, and writes one by extension.</summary>
public static class CheckpointFile
{
    /// <summary>The kind of weights file, judged by its first bytes.</summary>
    public enum Kind { PyTorchZip, PyTorchLegacy, SafeTensors }

    public static Kind Detect(string path)
    {
        byte[] head = ReadHead(path, 16);
        if (head.Length == 0)
            throw For(path, "the file is empty");
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
            return Kind.PyTorchZip;
        // A legacy torch.save starts with the pickle of its magic number: PROTO 2, LONG1 of 10 bytes.
        if (head.Length >= 4 && head[0] == 0x80 && head[1] == 2 && head[2] == 0x8a && head[3] == 10)
            return Kind.PyTorchLegacy;
        // safetensors: an 8-byte length, then the JSON header's '{'.
        if (head.Length >= 9 && head[8] == '{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < (1UL << 48))
            return Kind.SafeTensors;
        throw For(path, $"not a PyTorch checkpoint or safetensors file ({DescribeStart(path)})");
    }

    /// <summary>The state dict of a .pth/.pt/.bin (zip or legacy) or .safetensors file, whatever its name.</summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path) => Detect(path) switch
    {
        Kind.SafeTensors => SafeTensors.ReadStateDict(path),
        _ => PyTorchCheckpoint.ReadStateDict(path),
    };

    /// <summary>Writes by extension: .pth, .pt, .bin, .ckpt as a torch zip checkpoint; .safetensors as safetensors.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, TensorData>> tensors)
    {
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".pth" or ".pt" or ".bin" or ".ckpt":
                PyTorchCheckpoint.WriteStateDict(path, tensors);
                break;
            case ".safetensors":
                SafeTensors.Write(path, tensors);
                break;
            default:
                throw new ArgumentException($"{Path.GetFileName(path)}: unknown weights extension '{Path.GetExtension(path)}'; use .pth, .pt, .bin or .safetensors.", nameof(path));
        }
    }

    private static byte[] ReadHead(string path, int count)
    {
        using var fs = SafeTensors.Open(path);
        var buffer = new byte[count];
        int n = fs.ReadAtLeast(buffer, count, throwOnEndOfStream: false);
        return buffer[..n];
    }

    /// <summary>"starts with bytes 89 50 4E 47, a PNG image?": the first bytes and a guess at what the file is.</summary>
    internal static string DescribeStart(string path)
    {
        byte[] head = ReadHead(path, 300);
        if (head.Length == 0)
            return "the file is empty";
        string hex = string.Join(" ", head.Take(4).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        string? guess = Guess(head);
        return guess is null ? $"starts with bytes {hex}" : $"starts with bytes {hex}, {guess}?";
    }

    private static string? Guess(byte[] h)
    {
        bool StartsWith(params byte[] m) => h.Length >= m.Length && h.AsSpan(0, m.Length).SequenceEqual(m);
        bool Text(string s) => StartsWith(System.Text.Encoding.ASCII.GetBytes(s));
        if (StartsWith(0x89, 0x50, 0x4E, 0x47)) return "a PNG image";
        if (StartsWith(0xFF, 0xD8, 0xFF)) return "a JPEG image";
        if (Text("GIF8")) return "a GIF image";
        if (Text("%PDF")) return "a PDF document";
        if (StartsWith(0x1F, 0x8B)) return "a gzip archive";
        if (StartsWith(0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y')) return "a numpy .npy array";
        if (StartsWith(0x89, (byte)'H', (byte)'D', (byte)'F')) return "an HDF5 file such as a Keras model";
        if (StartsWith(0x7F, (byte)'E', (byte)'L', (byte)'F')) return "an executable";
        if (Text("PK")) return "a zip archive other than a checkpoint";
        if (Text("version https://git-lfs")) return "a Git LFS pointer instead of the weights";
        if (h.Length > 262 && System.Text.Encoding.ASCII.GetString(h, 257, 5) == "ustar") return "a tar archive (the pre-1.0 torch format, not supported)";
        if (h[0] == 0x80) return "a pickle that is not a PyTorch checkpoint";
        if (h[0] == '<' || Text("\n<") || Text("<!")) return "an HTML page, perhaps a failed download";
        if (h[0] == '{' || h[0] == '[') return "a JSON document";
        return null;
    }
}
