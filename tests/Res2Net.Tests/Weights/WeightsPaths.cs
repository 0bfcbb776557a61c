namespace Res2Net.Tests.Weights;

/// <summary>Locates the shared PyTorch fixtures and this project's test data from the repository root.</summary>
internal static class WeightsPaths
{
    private static readonly Lazy<string> RootDir = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Res2Net.slnx")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no folder above {AppContext.BaseDirectory} holds Res2Net.slnx.");
    });

    public static string Root => RootDir.Value;

    public static string Fixtures => Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures"));

    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    /// <summary>Small files made by PyTorch 1.13.1 for cases the shared fixtures do not cover.</summary>
    public static string Data(string name) => Path.Combine(Root, "tests", "Res2Net.Tests", "Data", name);

    public static readonly string[] Models =
        ["res2net_tiny_s4", "res2net_tiny_s1", "res2net_tiny_s8", "res2next_tiny", "res2net_v1b_tiny", "res2net_dla_tiny", "res2next_dla_tiny"];
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "res2net-weights-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

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
