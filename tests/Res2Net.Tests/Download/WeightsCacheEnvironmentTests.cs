using Res2Net.Caching;
using Xunit;

namespace Res2Net.Tests.Download;

/// <summary>Tests that set process environment variables; they run alone so no other test sees them.</summary>
[CollectionDefinition(nameof(EnvironmentCollection), DisableParallelization = true)]
public sealed class EnvironmentCollection;

[Collection(nameof(EnvironmentCollection))]
public class WeightsCacheEnvironmentTests
{
    [Fact]
    public async Task RES2NET_MIRROR_and_RES2NET_HOME_are_honoured()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/env/" + fake.FileName, LocalHttpServer.File(fake.Bytes));
        using var folder = new CacheFolder();
        string? oldMirror = Environment.GetEnvironmentVariable(WeightsCache.MirrorVariable);
        string? oldHome = Environment.GetEnvironmentVariable(WeightsCache.HomeVariable);
        try
        {
            Environment.SetEnvironmentVariable(WeightsCache.MirrorVariable, server.BaseUrl + "env/");
            Environment.SetEnvironmentVariable(WeightsCache.HomeVariable, folder.Path);
            using var cache = new WeightsCache();

            Assert.Equal(folder.Path, cache.CacheDirectory);
            Assert.Equal(server.BaseUrl + "env/", cache.Mirror);
            string path = await cache.GetAsync(fake.At());
            Assert.Equal(Path.Combine(folder.Path, fake.FileName), path);
            Assert.Equal(["/env/" + fake.FileName], server.Paths);

            // An explicit empty mirror means the official URLs even with the variable set.
            using var official = new WeightsCache(new WeightsCacheOptions { Cache = new Res2Net.Engines.ModelCacheOptions { Mirror = "" } });
            Assert.Null(official.Mirror);
            Assert.Equal(fake.At().Url, official.SourceFor(fake.At()));

            Environment.SetEnvironmentVariable(WeightsCache.MirrorVariable, "not a url");
            using var bad = new WeightsCache();
            var e = Assert.Throws<WeightsDownloadException>(() => bad.SourceFor(fake.At()));
            Assert.StartsWith("RES2NET_MIRROR 'not a url' is neither", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(WeightsCache.MirrorVariable, oldMirror);
            Environment.SetEnvironmentVariable(WeightsCache.HomeVariable, oldHome);
        }
    }
}
