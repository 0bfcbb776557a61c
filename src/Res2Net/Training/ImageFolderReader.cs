using Res2Net.Imaging;
using SkiaSharp;

namespace Res2Net.Training;

/// <summary>
/// torchvision's ImageFolder layout: one sub-folder per class (classes in ordinal name order), image files inside.
/// Images are decoded once and stored at <c>storeSize</c> x <c>storeSize</c> (shorter side resized, centre cut), so
/// that training augments bytes in memory instead of decoding files every epoch.
/// </summary>
internal static class ImageFolderReader
{
    /// <summary>The class folders of a directory that has image files in them, or none.</summary>
    public static IReadOnlyList<string> ClassFolders(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetDirectories(dir).Where(d => Directory.EnumerateFiles(d).Any(ImageFiles.IsImageFile))
                .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToList()
            : [];

    public static ImageDataset Read(string dir, int storeSize, int channels, IReadOnlyList<string>? classes = null)
    {
        var folders = ClassFolders(dir);
        classes ??= folders.Select(f => Path.GetFileName(f)).ToList();
        var pixels = new List<byte>();
        var labels = new List<int>();
        foreach (var folder in folders)
        {
            var label = classes.ToList().IndexOf(Path.GetFileName(folder));
            if (label < 0)
            {
                throw new DatasetFormatException($"{folder}: class '{Path.GetFileName(folder)}' is not among the training classes ({string.Join(", ", classes.Take(5))}...).");
            }

            foreach (var file in Directory.GetFiles(folder).Where(ImageFiles.IsImageFile).OrderBy(f => f, StringComparer.Ordinal))
            {
                var image = ImageDecoder.Decode(file);
                var scale = (double)storeSize / Math.Min(image.Width, image.Height);
                if (image.Width * scale * (image.Height * scale) > Limits.MaxResizedPixels)
                {
                    // A 1 x 60000 strip resized to a short side of 32 would be 2 million pixels long.
                    throw new DatasetFormatException($"{file}: its sides ({image.Width}x{image.Height}) are too unequal to resize to {storeSize} pixels.");
                }

                pixels.AddRange(Resize(image, storeSize, channels));
                labels.Add(label);
            }
        }

        if (labels.Count == 0)
        {
            throw new DatasetFormatException($"{dir} has no images in class folders.");
        }

        return new ImageDataset(dir, [.. pixels], [.. labels], channels, storeSize, storeSize, classes);
    }

    /// <summary>Resizes the shorter side to <paramref name="size"/> and cuts the centre square, as planar bytes.</summary>
    private static byte[] Resize(DecodedImage image, int size, int channels)
    {
        using var bitmap = image.ToBitmap();
        var scale = (double)size / Math.Min(image.Width, image.Height);
        int w = Math.Max(size, (int)Math.Round(image.Width * scale)), h = Math.Max(size, (int)Math.Round(image.Height * scale));
        using var resized = bitmap.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        int left = (w - size) / 2, top = (h - size) / 2;
        var rgba = resized.Bytes;
        var result = new byte[channels * size * size];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var s = (((top + y) * w) + left + x) * 4;
                var d = (y * size) + x;
                if (channels == 1)
                {
                    result[d] = (byte)(((rgba[s] * 19595) + (rgba[s + 1] * 38470) + (rgba[s + 2] * 7471) + 0x8000) >> 16);
                }
                else
                {
                    result[d] = rgba[s];
                    result[(size * size) + d] = rgba[s + 1];
                    result[(2 * size * size) + d] = rgba[s + 2];
                }
            }
        }

        return result;
    }
}
