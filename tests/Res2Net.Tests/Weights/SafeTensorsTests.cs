using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

public class SafeTensorsTests
{
    [Fact]
    public void Round_trip_is_bit_identical_and_follows_the_spec_layout()
    {
        var sd = PyTorchCheckpoint.ReadStateDict(TestPaths.Data("weights_views.pth"));
        using var dir = new TempDir();
        string a = dir.File("a.safetensors"), b = dir.File("b.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" };
        SafeTensors.Write(a, sd, meta);
        var back = SafeTensors.ReadStateDict(a, out var metaBack);
        Assert.Equal(meta, metaBack);
        Assert.Equal(sd.Keys, back.Keys);
        foreach (var (k, t) in sd)
        {
            Assert.Equal(t.DType, back[k].DType);
            Assert.Equal(t.Shape, back[k].Shape);
            Assert.Equal(t.Data, back[k].Data);
        }
        SafeTensors.Write(b, back, metaBack);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));

        // Spec: u64 LE header size N, N bytes of JSON, then the data, offsets relative to the data start.
        byte[] bytes = File.ReadAllBytes(a);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        var full = header.RootElement.GetProperty("full");
        Assert.Equal("F32", full.GetProperty("dtype").GetString());
        Assert.Equal([4, 6], full.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("BF16", header.RootElement.GetProperty("bf16").GetProperty("dtype").GetString());
        Assert.Equal("BOOL", header.RootElement.GetProperty("b").GetProperty("dtype").GetString());
        Assert.Equal("I64", header.RootElement.GetProperty("i64").GetProperty("dtype").GetString());
        long end = 0;
        foreach (var p in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(end, offsets[0]);
            Assert.Equal(sd[p.Name].Data, bytes.AsSpan((int)(8 + n + offsets[0]), (int)(offsets[1] - offsets[0])).ToArray());
            end = offsets[1];
        }
        Assert.Equal(bytes.Length, 8 + n + end);
    }

    private static string Make(TempDir dir, string name, string json, int dataBytes, ulong? headerLength = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        string path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Header_length_beyond_the_file_is_an_error()
    {
        using var dir = new TempDir();
        string path = Make(dir, "big.safetensors", "{}", 0, headerLength: 1UL << 40);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.ReadStateDict(path));
        Assert.Equal("big.safetensors: the file is truncated: the safetensors header length is 1,099,511,627,776 bytes but only 2 follow.", e.Message);
        Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "tensor 'b' at data offset 4 overlaps the tensor before it, which ends at 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "tensor 'a' of shape [3] and dtype F32 needs 12 bytes but its data_offsets span 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "the file is truncated: tensor 'a' needs 8 bytes at offset 62 but the file ends at 66")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "the safetensors data has a hole of 4 bytes before tensor 'a'")]
    [InlineData("""{"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}""", 16, "tensor 'a' has safetensors dtype 'C64', which is not supported")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8, "tensor 'a' has a shape that is not a list of non-negative integers")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, "the safetensors header is not valid JSON")]
    public void Invalid_headers_are_refused(string json, int dataBytes, string expected)
    {
        using var dir = new TempDir();
        string path = Make(dir, "bad.safetensors", json, dataBytes);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.ReadStateDict(path));
        Assert.StartsWith("bad.safetensors: " + expected, e.Message);
    }
}
