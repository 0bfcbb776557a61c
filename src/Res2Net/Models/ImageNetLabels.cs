using System.Reflection;

namespace Res2Net.Models;

/// <summary>The 1,000 ImageNet-1k class names in index order (torchvision's list).</summary>
public static class ImageNetLabels
{
    private static readonly Lazy<string[]> Names = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Res2Net.imagenet1k_labels.txt")
            ?? throw new InvalidOperationException("The ImageNet label list is missing from the Res2Net assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
    });

    public static IReadOnlyList<string> All => Names.Value;

    /// <summary>Labels for a classifier: ImageNet names for 1,000 classes, else the class index.</summary>
    public static IReadOnlyList<string> For(int numClasses) =>
        numClasses == All.Count ? All : Enumerable.Range(0, numClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
