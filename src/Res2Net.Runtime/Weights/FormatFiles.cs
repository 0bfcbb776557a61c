using Res2Net.IO;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>Opening tensor files (checkpoints, safetensors, .npy) as untrusted input, and naming what a refused file looks like.</summary>
internal static class FormatFiles
{
    /// <summary>Opens a regular file for reading; anything else (missing, a folder, a FIFO, a device) is refused by name.</summary>
    public static FileStream Open(string path)
    {
        var entry = FileSystemEntry.Of(path);
        if (entry.Kind == EntryKind.Missing)
        {
            throw For(path, "no such file");
        }

        if (entry.Kind != EntryKind.Regular)
        {
            throw For(path, $"it is {entry.Describe()}, not a regular file");
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw For(path, $"cannot open the file ({e.Message.TrimEnd('.')})", e);
        }
    }

    internal static byte[] ReadHead(string path, int count)
    {
        using var fs = Open(path);
        var buffer = new byte[count];
        var n = fs.ReadAtLeast(buffer, count, throwOnEndOfStream: false);
        return buffer[..n];
    }

    /// <summary>"starts with bytes 89 50 4E 47, a PNG image?": the first bytes and a guess at what the file is.</summary>
    internal static string DescribeStart(string path)
    {
        byte[] head = ReadHead(path, 300);
        if (head.Length == 0)
        {
            return "the file is empty";
        }

        string hex = string.Join(" ", head.Take(4).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        string? guess = Guess(head);
        return guess is null ? $"starts with bytes {hex}" : $"starts with bytes {hex}, {guess}?";
    }

    private static string? Guess(byte[] h)
    {
        bool StartsWith(params byte[] m) => h.Length >= m.Length && h.AsSpan(0, m.Length).SequenceEqual(m);
        bool Text(string s) => StartsWith(System.Text.Encoding.ASCII.GetBytes(s));
        if (StartsWith(0x89, 0x50, 0x4E, 0x47))
        {
            return "a PNG image";
        }

        if (StartsWith(0xFF, 0xD8, 0xFF))
        {
            return "a JPEG image";
        }

        if (Text("GIF8"))
        {
            return "a GIF image";
        }

        if (Text("%PDF"))
        {
            return "a PDF document";
        }

        if (StartsWith(0x1F, 0x8B))
        {
            return "a gzip archive";
        }

        if (StartsWith(0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'))
        {
            return "a numpy .npy array";
        }

        if (StartsWith(0x89, (byte)'H', (byte)'D', (byte)'F'))
        {
            return "an HDF5 file such as a Keras model";
        }

        if (StartsWith(0x7F, (byte)'E', (byte)'L', (byte)'F'))
        {
            return "an executable";
        }

        if (Text("PK"))
        {
            return "a zip archive other than a checkpoint";
        }

        if (Text("version https://git-lfs"))
        {
            return "a Git LFS pointer instead of the weights";
        }

        if (h.Length > 262 && System.Text.Encoding.ASCII.GetString(h, 257, 5) == "ustar")
        {
            return "a tar archive (the pre-1.0 torch format, not supported)";
        }

        if (h[0] == 0x80)
        {
            return "a pickle that is not a PyTorch checkpoint";
        }

        if (h[0] == '<' || Text("\n<") || Text("<!"))
        {
            return "an HTML page, perhaps a failed download";
        }

        if (h[0] == '{' || h[0] == '[')
        {
            return "a JSON document";
        }

        return null;
    }
}
