using System.Buffers.Binary;
using System.IO.Compression;
using Res2Net.Training;
using SkiaSharp;
using Xunit;

namespace Res2Net.Tests.Training;

public class DatasetTests
{
    [Fact]
    public void Embedded_sample_is_a_stratified_fashion_mnist_subset()
    {
        var d = DatasetLoader.LoadEmbeddedSample();
        Assert.Equal((3000, 1000), (d.Train.Count, d.Test.Count));
        Assert.Equal((1, 28, 28), (d.Train.Channels, d.Train.Height, d.Train.Width));
        Assert.Equal("Ankle boot", d.Train.Classes[9]);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(300, d.Train.Labels.Count(l => l == c)));
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(100, d.Test.Labels.Count(l => l == c)));
    }

    [Fact]
    public void Idx_reads_gzipped_and_plain_files_alike_and_is_detected()
    {
        using var dir = new TempDir();
        WriteIdx(dir.Path, "train", 20, gzip: true);
        WriteIdx(dir.Path, "t10k", 10, gzip: false);
        var splits = DatasetLoader.Load(dir.Path);
        Assert.Equal("idx", splits.Format);
        Assert.Equal((20, 10), (splits.Train.Count, splits.Test.Count));
        Assert.Equal(7, splits.Train.Pixels[(3 * 28 * 28) + 7] - 3);
        Assert.Equal(3 % 10, splits.Train.Labels[3]);
    }

    [Fact]
    public void Idx_errors_name_the_file_and_the_problem()
    {
        using var dir = new TempDir();
        var images = WriteImages(dir.File("img"), 5, gzip: false);
        var labels = WriteLabels(dir.File("lab"), 4, gzip: false);
        var e = Assert.Throws<DatasetFormatException>(() => IdxReader.Read(images, labels));
        Assert.Contains("lab has 4 labels but", e.Message);

        File.WriteAllBytes(dir.File("bad"), [1, 2, 3, 4, 5, 6, 7, 8]);
        e = Assert.Throws<DatasetFormatException>(() => IdxReader.Read(dir.File("bad"), labels));
        Assert.Contains("bad is not an IDX file: bad magic number", e.Message);

        var truncated = File.ReadAllBytes(images)[..^10];
        File.WriteAllBytes(dir.File("short"), truncated);
        e = Assert.Throws<DatasetFormatException>(() => IdxReader.Read(dir.File("short"), labels));
        Assert.Contains("short: its header promises 5 x 28 x 28 = 3,920 bytes but the file holds 3,910", e.Message);

        var outOfRange = WriteLabels(dir.File("lab5"), 5, gzip: false, first: 200);
        e = Assert.Throws<DatasetFormatException>(() => IdxReader.Read(images, outOfRange, IdxReader.FashionMnistClasses));
        Assert.Contains("lab5: label 200 is out of range for 10 classes", e.Message);
    }

    [Fact]
    public void Cifar_binary_batches_are_read_and_checked()
    {
        using var dir = new TempDir();
        var record = new byte[1 + 3072];
        using (var f = File.Create(dir.File("data_batch_1.bin")))
        {
            for (var i = 0; i < 3; i++)
            {
                record[0] = (byte)i;
                record[1] = (byte)(10 + i);
                f.Write(record);
            }
        }

        File.Copy(dir.File("data_batch_1.bin"), dir.File("test_batch.bin"));
        var splits = DatasetLoader.Load(dir.Path);
        Assert.Equal("cifar10", splits.Format);
        Assert.Equal([0, 1, 2], splits.Train.Labels);
        Assert.Equal((3, 32, 32), (splits.Train.Channels, splits.Train.Height, splits.Train.Width));
        Assert.Equal(12, splits.Train.Pixels[2 * 3072]);

        File.WriteAllBytes(dir.File("test_batch.bin"), new byte[3073 + 5]);
        var e = Assert.Throws<DatasetFormatException>(() => DatasetLoader.Load(dir.Path));
        Assert.Contains("test_batch.bin: 3078 bytes is not a whole number of 3073-byte CIFAR-10 records", e.Message);

        record[0] = 12;
        File.WriteAllBytes(dir.File("test_batch.bin"), record);
        e = Assert.Throws<DatasetFormatException>(() => DatasetLoader.Load(dir.Path));
        Assert.Contains("test_batch.bin: record 0 has label 12, out of range for CIFAR-10", e.Message);
    }

    [Fact]
    public void Image_folders_are_detected_and_decoded_to_the_stored_size()
    {
        using var dir = new TempDir();
        foreach (var (split, n) in new[] { ("train", 2), ("val", 1) })
        {
            foreach (var (cls, color) in new[] { ("cat", SKColors.Red), ("dog", SKColors.Blue) })
            {
                Directory.CreateDirectory(Path.Combine(dir.Path, split, cls));
                for (var i = 0; i < n; i++)
                {
                    using var bitmap = new SKBitmap(40, 30);
                    bitmap.Erase(color);
                    using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(Path.Combine(dir.Path, split, cls, $"{i}.png"), png.ToArray());
                }
            }
        }

        var splits = DatasetLoader.Load(dir.Path, imageSize: 16, channels: 3);
        Assert.Equal("imagefolder", splits.Format);
        Assert.Equal(["cat", "dog"], splits.Train.Classes);
        Assert.Equal([0, 0, 1, 1], splits.Train.Labels);
        Assert.Equal((3, 16, 16), (splits.Test.Channels, splits.Test.Height, splits.Test.Width));
        Assert.Equal(255, splits.Train.Pixels[0]);            // red plane of a red image
        Assert.Equal(255, splits.Train.Pixels[(2 * 768) + (2 * 256)]); // blue plane of the first blue image
    }

    [Fact]
    public void An_unrecognised_directory_says_which_formats_were_expected()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.txt"), "hello");
        var e = Assert.Throws<DatasetFormatException>(() => DatasetLoader.Load(dir.Path));
        Assert.Contains("holds no dataset this tool reads: expected IDX files", e.Message);
        Assert.Contains("CIFAR binary batches", e.Message);
        Assert.Contains("ImageFolder tree", e.Message);
    }

    internal static void WriteIdx(string dir, string prefix, int n, bool gzip)
    {
        var suffix = gzip ? ".gz" : "";
        WriteImages(Path.Combine(dir, $"{prefix}-images-idx3-ubyte{suffix}"), n, gzip);
        WriteLabels(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{suffix}"), n, gzip);
    }

    private static string WriteImages(string path, int n, bool gzip)
    {
        var bytes = new byte[16 + (n * 784)];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 28);
        for (var i = 0; i < n * 784; i++)
        {
            bytes[16 + i] = (byte)((i % 784) + (i / 784));
        }

        Write(path, bytes, gzip);
        return path;
    }

    private static string WriteLabels(string path, int n, bool gzip, int first = 0)
    {
        var bytes = new byte[8 + n];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), n);
        for (var i = 0; i < n; i++)
        {
            bytes[8 + i] = (byte)(i % 10);
        }

        if (first != 0)
        {
            bytes[8] = (byte)first;
        }

        Write(path, bytes, gzip);
        return path;
    }

    private static void Write(string path, byte[] bytes, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }

        using var f = File.Create(path);
        using var z = new GZipStream(f, CompressionLevel.Fastest);
        z.Write(bytes);
    }
}
