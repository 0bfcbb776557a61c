namespace Res2Net.Tests.Imaging;

internal static class ImagingPaths
{
    /// <summary>The fixture photos with torchvision's expected tensors.</summary>
    public static string Photo(string name) => Path.Combine(TestPaths.Fixtures, "images", name);

    /// <summary>Tiny files made by Data/images/make_images.py with PIL 9.4 and torchvision 0.14.</summary>
    public static string Data(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "Res2Net.Tests", "Data", "images", name);
}

/// <summary>A temporary folder, deleted after the test.</summary>
internal sealed class ImagingTempDir : IDisposable
{
    public ImagingTempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "res2net-imaging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Creates a file (and its folders) under the temporary folder and returns its path.</summary>
    public string Write(string relative, byte[] contents)
    {
        string path = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, contents);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
