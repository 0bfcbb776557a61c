namespace Res2Net.Imaging;

/// <summary>Recognises image files by extension and expands command-line inputs (files and folders) into image paths.</summary>
public static class ImageFiles
{
    /// <summary>The extensions read as images, lower case with the dot.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    /// <summary>Whether the path ends in one of <see cref="Extensions"/> (any case).</summary>
    public static bool IsImageFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var ext = Path.GetExtension(path.AsSpan());
        foreach (var e in Extensions)
        {
            if (ext.Equals(e, StringComparison.OrdinalIgnoreCase))
                return true;
        }

        return false;
    }

    /// <summary>
    /// Expands inputs in the order given: a file stays as it is (whatever its extension, since it was named), a folder
    /// becomes the image files under it, recursively, sorted by ordinal path so that runs repeat exactly. Hidden files
    /// and files that are no images by extension are skipped.
    /// </summary>
    /// <exception cref="FileNotFoundException">An input is neither a file nor a folder.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var result = new List<string>();
        foreach (var input in inputs)
        {
            if (File.Exists(input))
            {
                result.Add(input);
            }
            else if (Directory.Exists(input))
            {
                var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
                var found = Directory.EnumerateFiles(input, "*", options).Where(IsImageFile).ToList();
                found.Sort(StringComparer.Ordinal);
                result.AddRange(found);
            }
            else
            {
                throw new FileNotFoundException($"{input}: no such file or folder.", input);
            }
        }

        return result;
    }
}
