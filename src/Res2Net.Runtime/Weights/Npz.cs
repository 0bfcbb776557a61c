using System.IO.Compression;
using Res2Net.IO;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>numpy's .npz: a zip of .npy arrays, one entry <c>NAME.npy</c> per array (as <c>numpy.savez</c> writes it).</summary>
public static class Npz
{
    /// <summary>Writes the arrays, uncompressed, in the given order (see the library's atomic writes).</summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, TensorData>> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        foreach (var (name, tensor) in arrays)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('/') || name.Contains('\\'))
            {
                throw new ArgumentException($"'{name}' is not an array name an .npz can hold.", nameof(arrays));
            }

            tensor.Validate($"{Path.GetFileName(path)}: array '{name}'");
        }

        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, tensor) in arrays)
            {
                using var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
                Npy.Write(entry, tensor);
            }
        });
    }

    /// <summary>Reads every array, by name (the entry name without .npy), in file order; entries are bounded by the file's size.</summary>
    public static IReadOnlyList<KeyValuePair<string, TensorData>> Read(string path)
    {
        using var fs = FormatFiles.Open(path);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(fs, ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw For(path, "not an .npz file (not a readable zip archive)", e);
        }

        using (zip)
        {
            var result = new List<KeyValuePair<string, TensorData>>();
            foreach (var entry in zip.Entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
                {
                    continue;
                }

                // Deflate cannot expand more than about 1032:1; a larger claim is a lie (a zip bomb).
                if (entry.Length > Array.MaxLength || (entry.CompressedLength != entry.Length && entry.Length > (entry.CompressedLength * 1100) + 1024))
                {
                    throw For(path, $"its entry '{entry.FullName}' claims {entry.Length:N0} bytes, which is impossible");
                }

                using var buffer = new MemoryStream((int)entry.Length);
                using (var s = entry.Open())
                {
                    s.CopyTo(buffer);
                }

                buffer.Position = 0;
                result.Add(KeyValuePair.Create(entry.FullName[..^4], Npy.Read(buffer, $"{path} ({entry.FullName})")));
            }

            return result;
        }
    }
}
