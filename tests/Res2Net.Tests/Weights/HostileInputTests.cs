using System.Diagnostics;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Training;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

/// <summary>
/// Small files made to cost a naive reader gigabytes (tests/Res2Net.Tests/Data/hostile, made by PyTorch), and seeded
/// mutations of real files: each is read within its budget or refused with a Res2NetException, never anything else.
/// </summary>
public class HostileInputTests
{
    [Fact]
    public void A_stride_zero_view_of_a_gigabyte_is_refused_before_it_is_copied()
    {
        var e = Bounded(() => CheckpointFile.ReadStateDict(Hostile("expand_view.pth")));
        Assert.Equal("expand_view.pth: its tensors would take 1,000,000,000 bytes once copied out of 4 bytes of storage (views that repeat their data, such as expand(), at 'w').",
            Path.GetFileName(e.Message));
    }

    [Fact]
    public void A_pickle_of_millions_of_memo_entries_is_refused_early()
    {
        var e = Bounded(() => CheckpointFile.ReadStateDict(Hostile("memoize_bomb.pth")));
        Assert.Contains("data.pkl is far larger than a tensor checkpoint's (1,000,00", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gzip_idx_file_inflating_past_its_header_stops_there()
    {
        var bomb = Hostile("idx_bomb-images-idx3-ubyte.gz");
        var e = Bounded(() => IdxReader.Read(bomb, bomb));
        Assert.EndsWith("idx_bomb-images-idx3-ubyte.gz: it holds more than the 20 x 28 x 28 = 15,680 bytes its header promises.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Seeded_mutations_of_checkpoints_are_read_or_refused_in_one_sentence()
    {
        using var dir = new TempDir();
        using (var model = ModelRegistry.Create("res2net_cifar_tiny", 10, 1))
        {
            ModelWeights.Save(model, dir.File("w.pth"));
            ModelWeights.Save(model, dir.File("w.safetensors"));
        }

        // A legacy (non-zip) torch.save file too: its pickles and storages follow one another.
        File.Copy(TestPaths.Data("weights_views.legacy.pth"), dir.File("legacy.pth"));

        var random = new Random(1234);
        var clock = Stopwatch.StartNew();
        foreach (var name in new[] { "w.pth", "w.safetensors", "legacy.pth" })
        {
            var original = File.ReadAllBytes(dir.File(name));
            for (var i = 0; i < 150; i++)
            {
                var path = dir.File($"m{i}{Path.GetExtension(name)}");
                File.WriteAllBytes(path, Mutate(original, random));
                try
                {
                    ModelCheckpoint.Read(path);
                }
                catch (Res2NetException e)
                {
                    Assert.DoesNotContain('\n', e.Message);
                }

                File.Delete(path);
            }
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"450 mutated checkpoints took {clock.Elapsed}");
    }

    [Fact]
    public void Seeded_mutations_of_photos_are_decoded_or_refused_in_one_sentence()
    {
        var random = new Random(4321);
        foreach (var photo in new[] { "rocket.jpg", "palette_color.png", "camera.png" })
        {
            var original = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "images", photo));
            for (var i = 0; i < 100; i++)
            {
                try
                {
                    var image = ImageDecoder.Decode(Mutate(original, random), photo);
                    Assert.True(image.Width > 0 && image.Height > 0);
                }
                catch (ImageDecodeException e)
                {
                    Assert.StartsWith(photo + ":", e.Message, StringComparison.Ordinal);
                }
            }
        }
    }

    private static string Hostile(string name) => TestPaths.Data(Path.Combine("hostile", name));

    /// <summary>Runs a read that must fail with a Res2NetException, quickly and without allocating much.</summary>
    private static Res2NetException Bounded(Action read)
    {
        // This thread's allocations only: the reads are synchronous, and tests running beside this one allocate too.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsAny<Res2NetException>(read);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 256L << 20, $"allocated {allocated:N0} bytes");
        return e;
    }

    /// <summary>One of: a few bytes overwritten, a truncation, bytes inserted, a block duplicated.</summary>
    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = original.ToList();
        switch (random.Next(4))
        {
            case 0:
                for (var k = random.Next(1, 9); k > 0; k--)
                {
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                }

                break;
            case 1:
                bytes = bytes.Take(random.Next(bytes.Count)).ToList();
                break;
            case 2:
                var at = random.Next(bytes.Count);
                var insert = new byte[random.Next(1, 64)];
                random.NextBytes(insert);
                bytes.InsertRange(at, insert);
                break;
            default:
                var start = random.Next(bytes.Count);
                var length = Math.Min(random.Next(1, 4096), bytes.Count - start);
                bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(start, length));
                break;
        }

        return [.. bytes];
    }
}
