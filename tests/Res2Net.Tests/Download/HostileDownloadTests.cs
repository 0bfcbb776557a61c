using System.Diagnostics;
using Res2Net.Caching;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Download;

/// <summary>Servers and caches that misbehave on purpose: every download ends, bounded in time and size, leaving nothing.</summary>
public class HostileDownloadTests
{
    [Fact]
    public async Task A_server_that_drips_a_byte_at_a_time_is_given_up_on()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.Dripping(fake.Bytes, TimeSpan.FromMilliseconds(20)));
        using var folder = new CacheFolder();
        using var cache = folder.Cache(stall: TimeSpan.FromMilliseconds(600));
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(fake.At(server.BaseUrl + "w/")));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        // Given up on for arriving too slowly (or, if the drips bunch up in the network, for a pause).
        Assert.True(e.Message.Contains("bytes arrived in 0.6 s after", StringComparison.Ordinal) || e.Message.Contains("(no data for 0.6 s after", StringComparison.Ordinal), e.Message);
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task Endless_data_stops_at_the_largest_size_the_published_file_can_have()
    {
        var fake = FakeWeights.Make();
        var sent = new long[1];
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.Endless(sent));
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var weights = fake.At(server.BaseUrl + "w/");

        // The architecture's tensors in float32 plus the container's allowance, not a flat gigabyte.
        var tensors = ModelWeights.Shapes(ModelRegistry.Get(weights.Model), 0, 3).Sum(e => TensorData.CountElements(e.Value) * (e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? 8 : 4));
        Assert.Equal(tensors + Limits.DownloadOverheadBytes, weights.MaxBytes);
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(weights));
        Assert.Contains($"more than the {weights.MaxBytes:N0} bytes the published file can be arrived", e.Message, StringComparison.Ordinal);
        // What the server managed to write: what was read, plus what the sockets' buffers held.
        Assert.InRange(Interlocked.Read(ref sent[0]), weights.MaxBytes, weights.MaxBytes + (16 << 20));
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task A_redirect_to_a_file_url_is_refused_in_one_sentence()
    {
        var fake = FakeWeights.Make();
        await using var server = new LocalHttpServer().Route("/w/" + fake.FileName, LocalHttpServer.Redirect("file:///etc/passwd"));
        using var folder = new CacheFolder();
        using var cache = folder.Cache();
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(fake.At(server.BaseUrl + "w/")));
        Assert.Contains("(the server redirected to an address that is not http(s))", e.Message, StringComparison.Ordinal);
        Assert.Empty(folder.Files);
    }

    [Fact]
    public async Task A_fifo_or_device_in_a_mirror_or_in_the_cache_is_never_read()
    {
        var fake = FakeWeights.Make();
        using var mirror = new CacheFolder();
        Directory.CreateDirectory(mirror.Path);
        File.CreateSymbolicLink(Path.Combine(mirror.Path, fake.FileName), "/dev/zero");
        using var folder = new CacheFolder();
        using (var cache = folder.Cache(mirror: mirror.Path))
        {
            var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(fake.At("https://example.invalid/w/")));
            Assert.Contains("(it is a character device, not a file)", e.Message, StringComparison.Ordinal);
        }

        Directory.CreateDirectory(folder.Path);
        var cached = Path.Combine(folder.Path, fake.FileName);
        using (var mkfifo = Process.Start("mkfifo", [cached])!)
        {
            await mkfifo.WaitForExitAsync();
        }

        using (var cache = folder.Cache())
        {
            var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(fake.At("https://example.invalid/w/")).WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal($"the cached weights {cached} are a FIFO (named pipe), not a file; remove it, or open a checkpoint you have with ModelSource.Checkpoint.", e.Message);
        }

        Assert.True(File.Exists(cached), "the FIFO is not ours to delete");
    }
}
