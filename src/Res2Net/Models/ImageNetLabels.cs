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

    /// <summary>The file `res2net train` writes beside its checkpoints: one class name per line, in index order.</summary>
    public const string ClassesFileName = "classes.txt";

    /// <summary>
    /// Labels for a classifier: ImageNet names for 1,000 classes; else the names in <see cref="ClassesFileName"/> beside
    /// <paramref name="weightsPath"/> when it has one per class (a fine-tuned or trained checkpoint); else the index.
    /// </summary>
    public static IReadOnlyList<string> For(int numClasses, string? weightsPath = null)
    {
        if (numClasses == All.Count)
        {
            return All;
        }

        var beside = weightsPath is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, ClassesFileName);
        if (beside is not null && File.Exists(beside))
        {
            var names = File.ReadAllLines(beside).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (names.Length == numClasses)
            {
                return names;
            }
        }

        return Enumerable.Range(0, numClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}
