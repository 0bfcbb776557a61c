using Res2Net.IO;
namespace Res2Net.Training;

/// <summary>
/// The CIFAR binary format: records of label byte(s) then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows
/// from the top). CIFAR-10 has one label byte per record; CIFAR-100 two (coarse, then the fine label used here).
/// </summary>
internal static class CifarReader
{
    public const int ImageBytes = 3 * 32 * 32;

    public static readonly string[] Cifar10Classes =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Reads and concatenates batch files; <paramref name="labelBytes"/> is 1 for CIFAR-10, 2 for CIFAR-100.</summary>
    public static ImageDataset Read(IReadOnlyList<string> files, int labelBytes, IReadOnlyList<string>? classes = null)
    {
        var numClasses = labelBytes == 1 ? 10 : 100;
        classes ??= labelBytes == 1 ? Cifar10Classes : Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var record = labelBytes + ImageBytes;
        var pixels = new List<byte[]>();
        var labels = new List<int>();
        foreach (var file in files)
        {
            // A CIFAR batch is 30.7 MB; a FIFO, a device or gigabytes are not one.
            var bytes = InputFiles.ReadAllBytes(file, Limits.MaxCifarBatchBytes, "CIFAR batch");
            if (bytes.Length == 0 || bytes.Length % record != 0)
            {
                throw new DatasetFormatException(
                    $"{file}: {bytes.Length} bytes is not a whole number of {record}-byte CIFAR-{numClasses} records.");
            }

            var n = bytes.Length / record;
            var images = new byte[n * ImageBytes];
            for (var i = 0; i < n; i++)
            {
                int label = bytes[(i * record) + labelBytes - 1];
                if (label >= numClasses)
                {
                    throw new DatasetFormatException($"{file}: record {i} has label {label}, out of range for CIFAR-{numClasses}.");
                }

                labels.Add(label);
                Array.Copy(bytes, (i * record) + labelBytes, images, i * ImageBytes, ImageBytes);
            }

            pixels.Add(images);
        }

        return new ImageDataset(string.Join(", ", files), [.. pixels.SelectMany(p => p)], [.. labels], 3, 32, 32, classes);
    }
}
