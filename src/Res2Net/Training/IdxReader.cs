using System.Buffers.Binary;
using System.IO.Compression;
using Res2Net.IO;

namespace Res2Net.Training;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST: a big-endian header (0x00 0x00, type 0x08 = unsigned byte, the number of
/// dimensions), one 32-bit size per dimension, then the bytes. Files may be gzipped (detected by content, not name).
/// </summary>
internal static class IdxReader
{
    /// <summary>Fashion-MNIST's class names, in label order; other IDX sets get their label numbers as names.</summary>
    public static readonly string[] FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Reads an images file and its labels file into a dataset.</summary>
    public static ImageDataset Read(string imagesPath, string labelsPath, IReadOnlyList<string>? classes = null)
    {
        using var images = InputFiles.OpenRead(imagesPath, "IDX images file");
        using var labels = InputFiles.OpenRead(labelsPath, "IDX labels file");
        return Read(images, imagesPath, labels, labelsPath, classes);
    }

    public static ImageDataset Read(Stream images, string imagesName, Stream labels, string labelsName, IReadOnlyList<string>? classes = null)
    {
        var (imageDims, pixels) = ReadArray(images, imagesName);
        if (imageDims.Length != 3)
        {
            throw new DatasetFormatException($"{imagesName} is not an IDX images file: it has {imageDims.Length} dimensions, expected 3 (count, rows, columns).");
        }

        var (labelDims, labelBytes) = ReadArray(labels, labelsName);
        if (labelDims.Length != 1)
        {
            throw new DatasetFormatException($"{labelsName} is not an IDX labels file: it has {labelDims.Length} dimensions, expected 1.");
        }

        if (labelDims[0] != imageDims[0])
        {
            throw new DatasetFormatException($"{labelsName} has {labelDims[0]} labels but {imagesName} has {imageDims[0]} images.");
        }

        var max = labelBytes.Length == 0 ? 0 : labelBytes.Max();
        // Fashion-MNIST's directory or file names say so; other IDX sets (MNIST digits) are named by their label numbers.
        classes ??= max < 10 && imagesName.Contains("fashion", StringComparison.OrdinalIgnoreCase)
            ? FashionMnistClasses
            : Enumerable.Range(0, max + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (max >= classes.Count)
        {
            throw new DatasetFormatException($"{labelsName}: label {max} is out of range for {classes.Count} classes.");
        }

        return new ImageDataset(imagesName, pixels, labelBytes.Select(b => (int)b).ToArray(), 1, imageDims[1], imageDims[2], classes);
    }

    /// <summary>Whether a file starts like an IDX file of unsigned bytes (gzipped or not).</summary>
    public static bool LooksLikeIdx(string path)
    {
        try
        {
            // A FIFO or device is not looked into (it would block or never end): it is no IDX file.
            if (FileSystemEntry.Of(path).Kind != EntryKind.Regular)
            {
                return false;
            }

            using var s = Open(File.OpenRead(path));
            Span<byte> head = stackalloc byte[4];
            return s.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && head[3] is >= 1 and <= 4;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>The largest IDX array read (Fashion-MNIST's training images are 47 MB).</summary>

    private static (int[] Dims, byte[] Data) ReadArray(Stream raw, string name)
    {
        using var s = Open(raw);
        try
        {
            var head = new byte[4];
            if (s.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4 || head[0] != 0 || head[1] != 0)
            {
                throw new DatasetFormatException($"{name} is not an IDX file: bad magic number (expected 00 00 08 nn).");
            }

            if (head[2] != 0x08)
            {
                throw new DatasetFormatException($"{name}: IDX element type 0x{head[2]:x2} is not supported (only unsigned bytes, 0x08).");
            }

            var dims = new int[head[3]];
            if (dims.Length is < 1 or > 4)
            {
                throw new DatasetFormatException($"{name}: an IDX file with {dims.Length} dimensions is not an image or label file.");
            }

            var buffer = new byte[4];
            long total = 1;
            for (var i = 0; i < dims.Length; i++)
            {
                if (s.ReadAtLeast(buffer, 4, throwOnEndOfStream: false) < 4)
                {
                    throw new DatasetFormatException($"{name} ends inside its IDX header.");
                }

                dims[i] = BinaryPrimitives.ReadInt32BigEndian(buffer);
                if (dims[i] < 0)
                {
                    throw new DatasetFormatException($"{name}: dimension {i} has a negative size.");
                }

                total *= dims[i];
            }

            if (total > Limits.MaxIdxBytes)
            {
                throw new DatasetFormatException($"{name}: its header promises {total:N0} bytes, more than the {Limits.MaxIdxBytes:N0} a dataset file may hold.");
            }

            // Read what is there before trusting the header, so a lying header costs no huge allocation, and no more than
            // the header promises plus one byte, so a gzip bomb inflates no further than that.
            using var body = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while (body.Length <= total && (n = s.Read(chunk, 0, (int)Math.Min(chunk.Length, total + 1 - body.Length))) > 0)
            {
                body.Write(chunk, 0, n);
            }

            if (body.Length != total)
            {
                throw new DatasetFormatException(body.Length > total
                    ? $"{name}: it holds more than the {string.Join(" x ", dims)} = {total:N0} bytes its header promises."
                    : $"{name}: its header promises {string.Join(" x ", dims)} = {total:N0} bytes but the file holds {body.Length:N0}.");
            }

            return (dims, body.ToArray());
        }
        catch (InvalidDataException e)
        {
            throw new DatasetFormatException($"{name} is not a valid gzip file ({e.Message}).");
        }
    }

    /// <summary>Wraps a gzip stream in a decompressor (magic 1f 8b), or rewinds and returns a plain one.</summary>
    private static Stream Open(Stream raw)
    {
        var buffered = raw.CanSeek ? raw : CopyToMemory(raw);
        Span<byte> magic = stackalloc byte[2];
        var n = buffered.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        buffered.Seek(0, SeekOrigin.Begin);
        return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(buffered, CompressionMode.Decompress) : buffered;
    }

    private static MemoryStream CopyToMemory(Stream s)
    {
        var m = new MemoryStream();
        s.CopyTo(m);
        m.Position = 0;
        return m;
    }
}
