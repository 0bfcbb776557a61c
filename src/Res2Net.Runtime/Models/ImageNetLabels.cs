using System.Reflection;

namespace Res2Net.Models;

/// <summary>The 1,000 ImageNet-1k class names in index order (torchvision's list).</summary>
public static class ImageNetLabels
{
    private static readonly Lazy<IReadOnlyList<string>> Names = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Res2Net.imagenet1k_labels.txt")
            ?? throw new InvalidOperationException("The ImageNet label list is missing from the Res2Net.Runtime assembly.");
        using var reader = new StreamReader(stream);
        return Array.AsReadOnly(reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray());
    });

    /// <summary>The file `res2net train` writes beside its checkpoints: one class name per line, in index order.</summary>
    public const string ClassesFileName = "classes.txt";

    /// <summary>The names, in class index order.</summary>
    public static IReadOnlyList<string> All => Names.Value;

    /// <summary>
    /// Class names for a file without recorded metadata (see <see cref="ModelMetadata"/>): ImageNet's for 1,000 classes;
    /// else the names in <see cref="ClassesFileName"/> beside <paramref name="weightsPath"/> when it has one per class;
    /// else none (indices are shown).
    /// </summary>
    public static IReadOnlyList<string> For(int numClasses, string? weightsPath = null) =>
        numClasses == All.Count ? All
        : weightsPath is not null && ModelMetadata.ClassesBeside(weightsPath, numClasses) is { } names ? names
        : [];
}
