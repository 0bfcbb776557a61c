using System.Security.Cryptography;
using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Tests.Download;

/// <summary>Fake weights files named like the published ones: <c>name-&lt;first 8 hex of SHA-256&gt;.pth</c>.</summary>
internal sealed record FakeWeights(byte[] Bytes, string FileName)
{
    public static FakeWeights Make(string stem = "tiny", int length = 300_000, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        string hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        return new FakeWeights(bytes, $"{stem}-{hex[..8]}.pth");
    }

    /// <summary>Published weights at <paramref name="baseUrl"/> (the official base URL when null), with the hash prefix of the file name.</summary>
    public PretrainedConfig At(string? baseUrl = null) => new()
    {
        // A registered architecture, whose tensors bound the file's size (PretrainedSizes.MaxBytes): about 4.2 MB.
        Model = "res2net_cifar_tiny",
        Tag = "test",
        Url = (baseUrl ?? ModelRegistry.OfficialBaseUrl) + FileName,
        Sha256Prefix = FileName[(FileName.LastIndexOf('-') + 1)..^".pth".Length],
        Preprocess = PreprocessConfig.ImageNet,
        ClassNames = [],
        License = "CC-BY-NC-SA-4.0",
        LicenseTerms = "test",
        LicenseUrl = "https://example.org",
    };
}

/// <summary>A cache folder of its own per test (not created, so tests also see that the cache creates it).</summary>
internal sealed class CacheFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "res2net-dl-" + Guid.NewGuid().ToString("N"));

    /// <summary>Every file under the folder, temporary ones included.</summary>
    public string[] Files => Directory.Exists(Path) ? Directory.GetFiles(Path, "*", SearchOption.AllDirectories) : [];

    /// <summary>A cache here that ignores <c>RES2NET_MIRROR</c> unless a mirror is given.</summary>
    public WeightsCache Cache(string? mirror = "", TimeSpan? stall = null, bool verify = true) =>
        new(new WeightsCacheOptions
        {
            Cache = new ModelCacheOptions { Directory = Path, Mirror = mirror },
            StallTimeout = stall ?? TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(3),
            VerifyCached = verify,
        });

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Records reports synchronously (Progress&lt;T&gt; would post them to the thread pool, after the await).</summary>
internal sealed class ProgressLog : IProgress<DownloadProgress>
{
    private readonly List<DownloadProgress> _reports = [];

    public IReadOnlyList<DownloadProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(DownloadProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}

internal static class Model
{
    public static ModelInfo WithoutWeights() => ModelRegistry.All.First(m => m.Pretrained.Count == 0);
}
