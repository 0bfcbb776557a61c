using System.Reflection;

namespace Res2Net.Training;

/// <summary>Recognises a dataset directory's format and reads its training and test splits.</summary>
public static class DatasetLoader
{
    /// <summary>The name `--data` reports for the embedded Fashion-MNIST sample.</summary>
    public const string EmbeddedName = "embedded Fashion-MNIST sample";

    private const string Expected =
        "expected IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), "
        + "CIFAR binary batches (data_batch_1..5.bin and test_batch.bin, or CIFAR-100's train.bin and test.bin) "
        + "or an ImageFolder tree (train/ and val/ or test/, one folder of images per class)";

    /// <summary>
    /// Reads the dataset in <paramref name="dir"/> (null: the embedded sample). ImageFolder images are stored at
    /// <paramref name="imageSize"/> pixels with <paramref name="channels"/> channels; IDX and CIFAR keep their own.
    /// </summary>
    public static DatasetSplits Load(string? dir, int imageSize = 32, int channels = 3)
    {
        if (dir is null)
        {
            return LoadEmbeddedSample();
        }

        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"Dataset directory {dir} does not exist.");
        }

        foreach (var candidate in new[] { dir, Path.Combine(dir, "cifar-10-batches-bin"), Path.Combine(dir, "cifar-100-binary") })
        {
            if (TryCifar(candidate) is { } cifar)
            {
                return cifar;
            }
        }

        if (TryIdx(dir) is { } idx)
        {
            return idx;
        }

        var test = new[] { "val", "test", "validation" }.Select(s => Path.Combine(dir, s)).FirstOrDefault(d => ImageFolderReader.ClassFolders(d).Count > 0);
        var train = Path.Combine(dir, "train");
        if (ImageFolderReader.ClassFolders(train).Count > 0 && test is not null)
        {
            var trainSet = ImageFolderReader.Read(train, imageSize, channels);
            return new DatasetSplits(trainSet, ImageFolderReader.Read(test, imageSize, channels, trainSet.Classes), "imagefolder");
        }

        throw new DatasetFormatException($"{dir} holds no dataset this tool reads: {Expected}.");
    }

    /// <summary>The stratified Fashion-MNIST sample inside the library: 3,000 training and 1,000 test images.</summary>
    public static DatasetSplits LoadEmbeddedSample()
    {
        var assembly = typeof(DatasetLoader).Assembly;
        ImageDataset Read(string prefix)
        {
            using var images = Resource(assembly, $"Res2Net.fashion-mnist-sample.{prefix}-images-idx3-ubyte.gz");
            using var labels = Resource(assembly, $"Res2Net.fashion-mnist-sample.{prefix}-labels-idx1-ubyte.gz");
            return IdxReader.Read(images, $"{EmbeddedName} ({prefix} images)", labels, $"{EmbeddedName} ({prefix} labels)", IdxReader.FashionMnistClasses);
        }

        return new DatasetSplits(Read("train"), Read("t10k"), "idx");
    }

    private static Stream Resource(Assembly assembly, string name) =>
        assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"The library lacks its embedded resource {name}.");

    private static DatasetSplits? TryIdx(string dir)
    {
        string? Find(string stem) => new[] { stem, stem + ".gz" }.Select(n => Path.Combine(dir, n)).FirstOrDefault(File.Exists);
        var files = new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .Select(Find).ToArray();
        if (files.All(f => f is null))
        {
            return null;
        }

        var names = new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };
        var missing = names.Where((_, i) => files[i] is null).ToList();
        if (missing.Count > 0)
        {
            throw new DatasetFormatException($"{dir} has IDX files but lacks {string.Join(", ", missing.Select(m => m + "[.gz]"))}.");
        }

        var train = IdxReader.Read(files[0]!, files[1]!);
        var test = IdxReader.Read(files[2]!, files[3]!, train.Classes);
        if (test.Height != train.Height || test.Width != train.Width)
        {
            throw new DatasetFormatException($"{files[2]} has {test.Height}x{test.Width} images but {files[0]} has {train.Height}x{train.Width}.");
        }

        return new DatasetSplits(train, test, "idx");
    }

    private static DatasetSplits? TryCifar(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return null;
        }

        var batches = Enumerable.Range(1, 5).Select(i => Path.Combine(dir, $"data_batch_{i}.bin")).Where(File.Exists).ToList();
        var testBatch = Path.Combine(dir, "test_batch.bin");
        if (batches.Count > 0 || File.Exists(testBatch))
        {
            if (batches.Count == 0 || !File.Exists(testBatch))
            {
                throw new DatasetFormatException($"{dir} has CIFAR-10 batches but lacks {(batches.Count == 0 ? "data_batch_1.bin" : "test_batch.bin")}.");
            }

            return new DatasetSplits(CifarReader.Read(batches, 1), CifarReader.Read([testBatch], 1), "cifar10");
        }

        string train = Path.Combine(dir, "train.bin"), test = Path.Combine(dir, "test.bin");
        if (File.Exists(train) && File.Exists(test))
        {
            return new DatasetSplits(CifarReader.Read([train], 2), CifarReader.Read([test], 2), "cifar100");
        }

        return null;
    }
}
