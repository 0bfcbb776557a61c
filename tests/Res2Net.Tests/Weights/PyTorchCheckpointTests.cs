using System.IO.Compression;
using System.Text.Json;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

public class PyTorchCheckpointTests
{
    public static TheoryData<string> Models => new(FixtureModels.Names);

    [Theory]
    [MemberData(nameof(Models))]
    public void Fixture_loads_identically_from_zip_and_legacy_containers(string model)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(model + ".json")));
        int expectedKeys = json.RootElement.GetProperty("state_dict_keys").GetInt32();
        long expectedParams = json.RootElement.GetProperty("params").GetInt64();

        var zip = PyTorchCheckpoint.ReadStateDict(TestPaths.Fixture(model + ".pth"));
        var legacy = PyTorchCheckpoint.ReadStateDict(TestPaths.Fixture(model + ".legacy.pth"));

        Assert.Equal(expectedKeys, zip.Count);
        Assert.Equal(zip.Keys, legacy.Keys);
        foreach (var (key, t) in zip)
        {
            var l = legacy[key];
            Assert.Equal(t.DType, l.DType);
            Assert.Equal(t.Shape, l.Shape);
            Assert.Equal(t.Data, l.Data);
            Assert.Equal(t.NumElements * t.DType.ElementSize(), t.Data.Length);
        }

        // The parameter count of the json is the float entries less the BatchNorm buffers.
        long parameters = zip
            .Where(e => e.Value.DType.IsFloatingPoint() && !e.Key.EndsWith(".running_mean") && !e.Key.EndsWith(".running_var"))
            .Sum(e => e.Value.NumElements);
        Assert.Equal(expectedParams, parameters);
        Assert.All(zip.Where(e => e.Key.EndsWith(".num_batches_tracked")), e => Assert.Equal(DType.Int64, e.Value.DType));
    }

    [Fact]
    public void Fixture_keys_keep_file_order()
    {
        // pickletools shows the fixture's OrderedDict starting conv1.weight, bn1.weight, bn1.bias and ending fc.weight, fc.bias.
        var sd = PyTorchCheckpoint.ReadStateDict(TestPaths.Fixture("res2net_tiny_s1.pth"));
        Assert.Equal(["conv1.weight", "bn1.weight", "bn1.bias"], sd.Keys.Take(3));
        Assert.Equal(["fc.weight", "fc.bias"], sd.Keys.TakeLast(2));
        Assert.Equal([16L, 3, 7, 7], sd["conv1.weight"].Shape);
    }

    [Theory]
    [InlineData("res2net_tiny_s4.pth", "zip")]
    [InlineData("res2net_tiny_s4.legacy.pth", "legacy")]
    public void Read_reports_container_and_tensors(string file, string container)
    {
        var contents = PyTorchCheckpoint.Read(TestPaths.Fixture(file));
        Assert.Equal(container, contents.Container);
        Assert.Equal(182, contents.TensorCount);
        Assert.IsType<OrderedDictionary<object, object?>>(contents.Root);
        int batchNorms = contents.Tensors.Count(t => t.Key.EndsWith(".num_batches_tracked"));
        Assert.True(batchNorms > 0);
        Assert.Equal(batchNorms, contents.DTypeCounts[DType.Int64]);
        Assert.Equal(182 - batchNorms, contents.DTypeCounts[DType.Float32]);
        Assert.Equal(contents.Tensors.Sum(t => (long)t.Value.Data.Length), contents.TotalBytes);
    }

    [Theory]
    [InlineData("weights_views.pth")]
    [InlineData("weights_views.legacy.pth")]
    public void Views_dtypes_wrappers_and_prefixes(string file)
    {
        // Made by PyTorch 1.13.1: {'epoch': 7, 'arch': 'res2net', 'best_metric': np.float64(0.75),
        // 'state_dict': OrderedDict of 'module.'-prefixed tensors}, views of base = arange(24).reshape(4, 6).
        var sd = PyTorchCheckpoint.ReadStateDict(TestPaths.Data(file));
        Assert.Equal(["full", "view_t", "view_slice", "col", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "b", "scalar", "empty"], sd.Keys);

        float[] baseValues = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        Assert.Equal([4L, 6], sd["full"].Shape);
        Assert.Equal(baseValues, sd["full"].ToFloatArray());

        Assert.Equal([6L, 4], sd["view_t"].Shape);
        var transposed = new float[24];
        for (int r = 0; r < 6; r++)
        {
            for (int c = 0; c < 4; c++)
            {
                transposed[r * 4 + c] = c * 6 + r;
            }
        }

        Assert.Equal(transposed, sd["view_t"].ToFloatArray());

        Assert.Equal([2L, 3], sd["view_slice"].Shape);
        Assert.Equal([8f, 9, 10, 14, 15, 16], sd["view_slice"].ToFloatArray());
        Assert.Equal([1f, 7, 13, 19], sd["col"].ToFloatArray());

        Assert.Equal(DType.Float16, sd["f16"].DType);
        Assert.Equal([-2f, 0.5f, 65504f], sd["f16"].ToFloatArray());
        Assert.Equal(DType.BFloat16, sd["bf16"].DType);
        Assert.Equal([1f, -3.5f, 256f], sd["bf16"].ToFloatArray());
        Assert.Equal(DType.Float64, sd["f64"].DType);
        Assert.Equal([1.5f, -2.25f], sd["f64"].ToFloatArray());

        Assert.Equal(DType.Int64, sd["i64"].DType);
        Assert.Equal(3000000000L, BitConverter.ToInt64(sd["i64"].Data, 16));
        Assert.Equal(-2L, BitConverter.ToInt64(sd["i64"].Data, 8));
        Assert.Equal(DType.Int32, sd["i32"].DType);
        Assert.Equal([1L, 2], sd["i32"].Shape);
        Assert.Equal([7f, -8f], sd["i32"].ToFloatArray());
        Assert.Equal([300f, -300f], sd["i16"].ToFloatArray());
        Assert.Equal(DType.Int8, sd["i8"].DType);
        Assert.Equal([-5f, 5f], sd["i8"].ToFloatArray());
        Assert.Equal(DType.UInt8, sd["u8"].DType);
        Assert.Equal([0f, 255f], sd["u8"].ToFloatArray());
        Assert.Equal(DType.Bool, sd["b"].DType);
        Assert.Equal(new byte[] { 1, 0, 1 }, sd["b"].Data);

        Assert.Empty(sd["scalar"].Shape);
        Assert.Equal([3.5f], sd["scalar"].ToFloatArray());
        Assert.Equal([0L, 3], sd["empty"].Shape);
        Assert.Empty(sd["empty"].Data);
    }

    [Theory]
    [InlineData("weights_views.pth")]
    [InlineData("weights_views.legacy.pth")]
    public void Read_exposes_non_tensor_entries(string file)
    {
        var root = Assert.IsType<OrderedDictionary<object, object?>>(PyTorchCheckpoint.Read(TestPaths.Data(file)).Root);
        Assert.Equal(["epoch", "arch", "best_metric", "state_dict"], root.Keys.Cast<string>());
        Assert.Equal(7, Convert.ToInt32(root["epoch"]));
        Assert.Equal("res2net", root["arch"]);
        Assert.Equal(0.75, root["best_metric"]);
        var inner = Assert.IsType<OrderedDictionary<object, object?>>(root["state_dict"]);
        Assert.Equal(15, inner.Count);
    }

    [Theory]
    [InlineData("res2net_dla_tiny.pth")]
    [InlineData("weights_views.legacy.pth")]
    public void Written_checkpoint_reads_back_identically(string file)
    {
        string source = file.StartsWith("weights_") ? TestPaths.Data(file) : TestPaths.Fixture(file);
        var original = PyTorchCheckpoint.ReadStateDict(source);
        using var dir = new TempDir();
        string path = dir.File("out.pth");
        PyTorchCheckpoint.WriteStateDict(path, original);

        var back = PyTorchCheckpoint.ReadStateDict(path);
        Assert.Equal(original.Keys, back.Keys);
        foreach (var (key, t) in original)
        {
            Assert.Equal(t.DType, back[key].DType);
            Assert.Equal(t.Shape, back[key].Shape);
            Assert.Equal(t.Data, back[key].Data);
        }
        Assert.Equal("zip", PyTorchCheckpoint.Read(path).Container);
        Assert.Equal(["out.pth"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));

        // The layout torch.save writes: stored entries under archive/.
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal("archive/data.pkl", zip.Entries[0].FullName);
        Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));
        using var version = new StreamReader(zip.GetEntry("archive/version")!.Open());
        Assert.Equal("3\n", version.ReadToEnd());
        Assert.NotNull(zip.GetEntry($"archive/data/{original.Count - 1}"));

        // Like torch, every entry's data starts at a multiple of 64 bytes (local header: 30 bytes, name, extra).
        byte[] bytes = File.ReadAllBytes(path);
        int offset = 0, entries = 0;
        while (BitConverter.ToUInt32(bytes, offset) == 0x04034b50)
        {
            int size = BitConverter.ToInt32(bytes, offset + 18);
            int dataStart = offset + 30 + BitConverter.ToUInt16(bytes, offset + 26) + BitConverter.ToUInt16(bytes, offset + 28);
            Assert.Equal(0, dataStart % 64);
            offset = dataStart + size;
            entries++;
        }
        Assert.Equal(zip.Entries.Count, entries);
    }

    [Fact]
    public void Writing_replaces_an_existing_file_whole()
    {
        using var dir = new TempDir();
        string path = dir.File("w.pth");
        File.WriteAllText(path, "old");
        PyTorchCheckpoint.WriteStateDict(path, [new("w", TensorData.FromFloats([1, 2, 3, 4], [2, 2]))]);
        var sd = PyTorchCheckpoint.ReadStateDict(path);
        Assert.Equal([1f, 2, 3, 4], sd["w"].ToFloatArray());
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Hand_made_legacy_checkpoint_loads()
    {
        // Positive control for the hostile legacy files built the same way in CheckpointSecurityTests.
        using var dir = new TempDir();
        string path = dir.File("hand.legacy.pth");
        File.WriteAllBytes(path, LegacyFile(numelInData: 4, data: [1f, 2f, 3f, 4f]));
        var sd = PyTorchCheckpoint.ReadStateDict(path);
        Assert.Equal([2L, 2], sd["w"].Shape);
        Assert.Equal([1f, 2, 3, 4], sd["w"].ToFloatArray());
    }

    /// <summary>A legacy file of {'w': float tensor of shape (2, 2) on storage '0'} with the given storage record.</summary>
    internal static byte[] LegacyFile(long numelInData, float[] data)
    {
        var p = new PickleBytes().Raw(PickleBytes.LegacyPreamble());
        p.Proto().EmptyDict().Str("w").FloatTensor("0", 4, [2, 2], [2, 1], legacy: true).SetItem().Stop();
        p.Proto().EmptyList().Str("0").Append().Stop();
        p.Raw(BitConverter.GetBytes(numelInData));
        foreach (float f in data)
        {
            p.Raw(BitConverter.GetBytes(f));
        }

        return p.ToArray();
    }
}
