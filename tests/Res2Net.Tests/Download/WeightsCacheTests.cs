using System.Diagnostics;
using Res2Net.Caching;
using Res2Net.Engines;
using Xunit;

namespace Res2Net.Tests.Download;

public class WeightsCacheTests
{
    [Fact]
    public async Task Downloads_verifies_and_caches_then_uses_the_cache_without_a_request()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.File(fake.Bytes));
        using var folder = new CacheFolder();
        var weights = fake.At(server.BaseUrl + "w/");
        var progress = new ProgressLog();

        string path;
        using (var cache = folder.Cache())
        {
            path = await cache.GetAsync(weights, progress);
        }

        Assert.Equal(Path.Combine(folder.Path, fake.FileName), path);
        Assert.Equal(fake.Bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal([path], folder.Files);
        Assert.Equal(1, server.Requests);
        Assert.Equal(new DownloadProgress(fake.FileName, 0, fake.Bytes.Length), progress.Reports[0]);
        Assert.Equal(new DownloadProgress(fake.FileName, fake.Bytes.Length, fake.Bytes.Length), progress.Reports[^1]);
        Assert.Equal(1.0, progress.Reports[^1].Fraction);

        using (var again = folder.Cache())
        {
            Assert.True(again.IsCached(weights));
            Assert.Equal(path, await again.GetAsync(weights));
        }

        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task A_file_whose_hash_does_not_match_its_name_is_refused_and_nothing_is_left()
    {
        var fake = FakeWeights.Make();
        var other = FakeWeights.Make(seed: 2).Bytes;
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.File(other));
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var weights = fake.At(server.BaseUrl + "w/");

        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));

        Assert.Contains(weights.Url, e.Message);
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains("with ModelSource.Checkpoint", e.Message);
        Assert.Empty(folder.Files);
        Assert.False(cache.IsCached(weights));
    }

    [Fact]
    public async Task A_connection_closed_halfway_is_an_error_and_nothing_is_left()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer()
            .Route("/w/" + fake.FileName, LocalHttpServer.Truncated(fake.Bytes, fake.Bytes.Length / 2));
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var weights = fake.At(server.BaseUrl + "w/");

        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));

        Assert.StartsWith($"could not download {weights.Url} (", e.Message);
        Assert.Contains("closed", e.Message);
        Assert.Contains($"of {fake.Bytes.Length:N0} bytes", e.Message);
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task An_http_error_status_names_the_url_and_the_status()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer();
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var weights = fake.At(server.BaseUrl + "missing/");

        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));

        Assert.Equal(
            $"could not download {weights.Url} (HTTP 404 Not Found); the cache is {folder.Path}; download the file yourself " +
            "and open it with ModelSource.Checkpoint, or set RES2NET_MIRROR to a reachable mirror.",
            e.Message);
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task Without_a_server_the_error_comes_within_seconds_and_says_what_to_do()
    {
        var fake = FakeWeights.Make();
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var weights = fake.At($"http://127.0.0.1:{LocalHttpServer.ClosedPort()}/res2net/");

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains(weights.Url, e.Message);
        Assert.Contains("connection refused", e.Message);
        Assert.Contains(folder.Path, e.Message);
        Assert.Contains("with ModelSource.Checkpoint", e.Message);
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task A_stalled_download_fails_after_the_stall_timeout_and_nothing_is_left()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.Stalling(fake.Bytes, 1000));
        using var folder = new CacheFolder();
        using var cache = folder.Cache(stall: TimeSpan.FromMilliseconds(300));
        var weights = fake.At(server.BaseUrl + "w/");

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains(weights.Url, e.Message);
        Assert.Contains("no data for 0.3 s after 1,000 of", e.Message);
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task Cancellation_stops_the_download_and_leaves_nothing()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.Stalling(fake.Bytes, 1000));
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.GetAsync(fake.At(server.BaseUrl + "w/"), null, cts.Token));

        Assert.Empty(folder.Files);
    }

    [Theory]
    [InlineData("mirror")]
    [InlineData("mirror/")]
    public async Task A_mirror_replaces_the_official_base_url_with_or_without_a_trailing_slash(string mirrorPath)
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/mirror/" + fake.FileName, LocalHttpServer.File(fake.Bytes));
        using var folder = new CacheFolder();
        using var cache = folder.Cache(mirror: server.BaseUrl + mirrorPath);
        var weights = fake.At();

        Assert.Equal($"{server.BaseUrl}mirror/{fake.FileName}", cache.SourceFor(weights));
        string path = await cache.GetAsync(weights);

        Assert.Equal(fake.Bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(["/mirror/" + fake.FileName], server.Paths);
    }

    [Fact]
    public async Task A_folder_or_file_url_mirror_is_copied_and_verified()
    {
        var fake = FakeWeights.Make();
        using var mirror = new CacheFolder();
        Directory.CreateDirectory(mirror.Path);
        await File.WriteAllBytesAsync(Path.Combine(mirror.Path, fake.FileName), fake.Bytes);

        foreach (string m in new[] { mirror.Path, new Uri(mirror.Path + "/").AbsoluteUri })
        {
            using var folder = new CacheFolder();
            using var cache = folder.Cache(mirror: m);
            string path = await cache.GetAsync(fake.At());
            Assert.Equal(fake.Bytes, await File.ReadAllBytesAsync(path));
        }

        var wrong = FakeWeights.Make("absent");
        using (var folder = new CacheFolder())
        using (var cache = folder.Cache(mirror: mirror.Path))
        {
            var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(wrong.At()));
            Assert.StartsWith($"could not copy {Path.Combine(mirror.Path, wrong.FileName)} (no such file)", e.Message);
            Assert.Empty(folder.Files);
        }
    }

    [Fact]
    public async Task A_mirror_that_is_not_a_url_or_folder_is_refused()
    {
        using var folder = new CacheFolder();
        using var cache = folder.Cache(mirror: "ftp://example.org/res2net");

        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(FakeWeights.Make().At()));

        Assert.StartsWith("the mirror 'ftp://example.org/res2net' is neither an http(s) URL nor an absolute folder;", e.Message);
    }

    [Fact]
    public async Task A_damaged_cached_file_is_reported_and_deleted_so_the_next_run_downloads_again()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.File(fake.Bytes));
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var weights = fake.At(server.BaseUrl + "w/");
        string path = await cache.GetAsync(weights);

        var damaged = (byte[])fake.Bytes.Clone();
        damaged[12345] ^= 0xFF;
        await File.WriteAllBytesAsync(path, damaged);

        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));
        Assert.StartsWith($"the cached weights {path} are damaged", e.Message);
        Assert.Contains("were deleted", e.Message);
        Assert.Empty(folder.Files);

        Assert.Equal(path, await cache.GetAsync(weights));
        Assert.Equal(fake.Bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task Verification_of_cached_files_can_be_switched_off()
    {
        var fake = FakeWeights.Make();
        using var folder = new CacheFolder();
        Directory.CreateDirectory(folder.Path);
        string path = Path.Combine(folder.Path, fake.FileName);
        await File.WriteAllBytesAsync(path, [1, 2, 3]);
        using var cache = folder.Cache(verify: false);

        Assert.Equal(path, await cache.GetAsync(fake.At("http://127.0.0.1:1/")));
    }

    [Fact]
    public async Task Concurrent_downloads_of_the_same_file_leave_one_good_file()
    {
        var fake = FakeWeights.Make(length: 2_000_000);
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.File(fake.Bytes));
        using var folder = new CacheFolder();
        var weights = fake.At(server.BaseUrl + "w/");

        var caches = Enumerable.Range(0, 4).Select(_ => folder.Cache()).ToArray();
        try
        {
            string[] paths = await Task.WhenAll(caches.Select(c => Task.Run(() => c.GetAsync(weights))));
            Assert.All(paths, p => Assert.Equal(Path.Combine(folder.Path, fake.FileName), p));
        }
        finally
        {
            foreach (var c in caches)
            {
                c.Dispose();
            }
        }

        Assert.Equal([Path.Combine(folder.Path, fake.FileName)], folder.Files);
        Assert.Equal(fake.Bytes, await File.ReadAllBytesAsync(folder.Files[0]));
    }

    [Fact]
    public void A_model_without_published_weights_asks_for_a_file()
    {
        var model = Model.WithoutWeights();
        var e = Assert.Throws<Res2Net.Models.UnknownModelException>(() => model.GetPretrained());
        Assert.Equal($"{model.Name} has no published weights; train it, or open a checkpoint of your own.", e.Message);
    }
}

public class WeightsCacheHandlerTests
{
    [Fact]
    public async Task A_connect_timeout_is_reported_as_such_within_seconds()
    {
        // A connection that never completes, as to a host that drops packets.
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(300),
            ConnectCallback = async (_, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                throw new InvalidOperationException("unreachable");
            },
        };
        using var folder = new CacheFolder();
        using var cache = new WeightsCache(new WeightsCacheOptions { Cache = new Res2Net.Engines.ModelCacheOptions { Directory = folder.Path, Mirror = "" } }, handler);
        var weights = FakeWeights.Make().At("http://192.0.2.1/res2net/");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.StartsWith($"could not download {weights.Url} (the connection timed out); the cache is {folder.Path};", e.Message);
        Assert.Empty(folder.Files);
    }
}
