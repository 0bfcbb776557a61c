namespace Res2Net.Tests;

/// <summary>Locates the repository and its test fixtures (tests/fixtures; see the README there).</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Fixtures { get; } = Path.Combine(RepoRoot, "tests", "fixtures");

    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    /// <summary>Small files made by PyTorch 1.13.1 for cases the fixtures do not cover.</summary>
    public static string Data(string name) => Path.Combine(RepoRoot, "tests", "Res2Net.Tests", "Data", name);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Res2Net.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Res2Net.slnx) above " + AppContext.BaseDirectory);
    }
}
