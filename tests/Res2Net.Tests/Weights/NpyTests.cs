using System.Text;
using System.Text.Json;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

public class NpyTests
{
    [Fact]
    public void Reads_the_fixture_input()
    {
        var t = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy"));
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal([2L, 3, 64, 64], t.Shape);
        Assert.Equal(2 * 3 * 64 * 64 * 4, t.Data.Length);
        Assert.All(t.ToFloatArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Stage_outputs_have_the_shapes_of_the_json()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("res2net_tiny_s4.json")));
        var stages = json.RootElement.GetProperty("stages").EnumerateArray().ToArray();
        for (int i = 0; i < 4; i++)
        {
            var t = Npy.Read(TestPaths.Fixture($"res2net_tiny_s4.stage{i + 1}.npy"));
            Assert.Equal(stages[i].EnumerateArray().Select(e => e.GetInt64()), t.Shape);
        }
    }

    [Fact]
    public void Round_trip_writes_a_numpy_v1_header_aligned_to_64_bytes()
    {
        var original = Npy.Read(TestPaths.Fixture("input_2x3x64x64.npy"));
        using var dir = new TempDir();
        string path = dir.File("x.npy");
        Npy.Write(path, original);
        var back = Npy.Read(path);
        Assert.Equal(original.Shape, back.Shape);
        Assert.Equal(original.Data, back.Data);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal("\x93NUMPY\x01\x00", Encoding.Latin1.GetString(bytes, 0, 8));
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal('\n', (char)bytes[10 + headerLength - 1]);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 64, 64), }", Encoding.Latin1.GetString(bytes, 10, headerLength));
        Assert.Equal(original.Data, bytes[(10 + headerLength)..]);
    }

    [Theory]
    [InlineData(DType.Int64)]
    [InlineData(DType.Int32)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Bool)]
    [InlineData(DType.Float64)]
    public void Other_dtypes_round_trip(DType dtype)
    {
        var t = new TensorData(dtype, [3], Enumerable.Range(1, 3 * dtype.ElementSize()).Select(i => (byte)(i % 2)).ToArray());
        using var dir = new TempDir();
        string path = dir.File("t.npy");
        Npy.Write(path, t);
        var back = Npy.Read(path);
        Assert.Equal(dtype, back.DType);
        Assert.Equal(t.Data, back.Data);
    }

    private static string Make(TempDir dir, string header, int dataBytes, byte major = 1)
    {
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0]);
        byte[] h = Encoding.Latin1.GetBytes(header + "\n");
        if (major == 1)
        {
            ms.Write(BitConverter.GetBytes((ushort)h.Length));
        }
        else
        {
            ms.Write(BitConverter.GetBytes((uint)h.Length));
        }

        ms.Write(h);
        ms.Write(new byte[dataBytes]);
        string path = dir.File("a.npy");
        File.WriteAllBytes(path, ms.ToArray());
        return path;
    }

    [Fact]
    public void Version_2_header_reads()
    {
        using var dir = new TempDir();
        var t = Npy.Read(Make(dir, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16, major: 2));
        Assert.Equal(DType.Int64, t.DType);
        Assert.Equal([2L], t.Shape);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "a.npy: the array is stored in Fortran order; only C order is supported.")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "a.npy: the .npy dtype '>f4' is not supported (only little-endian <f4, <f8, <f2, <i8, <i4, <i2, |i1, |u1 and |b1 are).")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12, "a.npy: the file is truncated: the array of shape (2, 2) needs 16 bytes at offset 70 but the file ends at 82.")]
    public void Unsupported_or_damaged_arrays_are_refused(string header, int dataBytes, string expected)
    {
        using var dir = new TempDir();
        string path = Make(dir, header, dataBytes);
        var e = Assert.Throws<CheckpointFormatException>(() => Npy.Read(path));
        Assert.Equal(expected, e.Message);
    }
}
