namespace Res2Net.Training;


/// <summary>
/// Images held in memory as 8-bit pixels, planar per image (N, C, H, W), with integer labels: every format is read into
/// this, so augmentation and batching are one code path and a 60,000-image set costs its raw size (47 MB for Fashion-MNIST).
/// </summary>
public sealed class ImageDataset
{
    /// <summary>Images of <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/> bytes, planar per image, with a label each.</summary>
    public ImageDataset(string name, byte[] pixels, int[] labels, int channels, int height, int width, IReadOnlyList<string> classes)
    {
        if (pixels.LongLength != (long)labels.Length * channels * height * width)
        {
            throw new ArgumentException($"{name}: {pixels.LongLength} pixel bytes do not make {labels.Length} images of {channels}x{height}x{width}.");
        }

        var bad = Array.FindIndex(labels, l => l < 0 || l >= classes.Count);
        if (bad >= 0)
        {
            throw new DatasetFormatException($"{name}: label {labels[bad]} of image {bad} is outside the {classes.Count} classes.");
        }

        Name = name;
        Pixels = pixels;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        Classes = classes;
    }

    /// <summary>Where the images came from (a path, or the embedded sample's name).</summary>
    public string Name { get; }

    /// <summary>All images, planar per image (N, C, H, W), one byte per pixel and channel.</summary>
    public byte[] Pixels { get; }

    /// <summary>The class index of each image.</summary>
    public int[] Labels { get; }

    /// <summary>The class index of each image.</summary>
    public int Count => Labels.Length;

    /// <summary>Channels per image: 1 (gray) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Channels per image: 1 (gray) or 3 (RGB).</summary>
    public int ImageBytes => Channels * Height * Width;

    /// <summary>The class names, in label order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Number of images.</summary>
    public int NumClasses => Classes.Count;

    /// <summary>The images at <paramref name="indices"/>, in that order (a stratified sample, a smaller test set).</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        var pixels = new byte[(long)indices.Count * ImageBytes];
        var labels = new int[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            Array.Copy(Pixels, (long)indices[i] * ImageBytes, pixels, (long)i * ImageBytes, ImageBytes);
            labels[i] = Labels[indices[i]];
        }

        return new ImageDataset(name ?? Name, pixels, labels, Channels, Height, Width, Classes);
    }

    /// <summary>The first <paramref name="perClass"/> images of each class, in dataset order (deterministic).</summary>
    public ImageDataset Stratified(int perClass, string? name = null)
    {
        var taken = new int[NumClasses];
        var indices = new List<int>();
        for (var i = 0; i < Count; i++)
        {
            if (taken[Labels[i]]++ < perClass)
            {
                indices.Add(i);
            }
        }

        return Subset(indices, name);
    }
}
