using System.Buffers.Binary;
using System.Text;

namespace Res2Net.Tests.Weights;

/// <summary>Builds pickles opcode by opcode, so tests can make hostile and hand-made checkpoints without Python.</summary>
internal sealed class PickleBytes
{
    private readonly MemoryStream _s = new();

    public PickleBytes Raw(params byte[] bytes) { _s.Write(bytes); return this; }
    public PickleBytes Proto(byte p = 2) => Raw(0x80, p);
    public PickleBytes Global(string module, string name) => Raw((byte)'c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    public PickleBytes Str(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        Raw((byte)'X');
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
        _s.Write(len);
        return Raw(b);
    }
    public PickleBytes ShortStr(string s) => Raw(0x8c, (byte)s.Length).Raw(Encoding.UTF8.GetBytes(s));
    public PickleBytes Int(int v)
    {
        Raw((byte)'J');
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        _s.Write(b);
        return this;
    }
    /// <summary>LONG1 with 8 bytes: any long.</summary>
    public PickleBytes Long(long v)
    {
        Raw(0x8a, 8);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, v);
        _s.Write(b);
        return this;
    }
    public PickleBytes Mark() => Raw((byte)'(');
    public PickleBytes Tuple() => Raw((byte)'t');
    public PickleBytes Tuple1() => Raw(0x85);
    public PickleBytes EmptyTuple() => Raw((byte)')');
    public PickleBytes EmptyDict() => Raw((byte)'}');
    public PickleBytes EmptyList() => Raw((byte)']');
    public PickleBytes SetItem() => Raw((byte)'s');
    public PickleBytes Append() => Raw((byte)'a');
    public PickleBytes Reduce() => Raw((byte)'R');
    public PickleBytes Build() => Raw((byte)'b');
    public PickleBytes BinPersId() => Raw((byte)'Q');
    public PickleBytes None() => Raw((byte)'N');
    public PickleBytes False() => Raw(0x89);
    public PickleBytes Stop() => Raw((byte)'.');
    public byte[] ToArray() => _s.ToArray();

    /// <summary>_rebuild_tensor_v2(persistent_id(('storage', torch.FloatStorage, key, 'cpu', numel[, None])), 0, shape, stride, False, OrderedDict()).</summary>
    public PickleBytes FloatTensor(string key, long numel, long[] shape, long[] stride, bool legacy)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", "FloatStorage").Str(key).Str("cpu").Long(numel);
        if (legacy)
        {
            None();
        }

        Tuple().BinPersId().Int(0);
        Mark();
        foreach (long d in shape)
        {
            Long(d);
        }

        Tuple();
        Mark();
        foreach (long d in stride)
        {
            Long(d);
        }

        Tuple();
        False().Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    /// <summary>The three pickles that open a legacy torch.save file: magic number, protocol version, sys_info.</summary>
    public static byte[] LegacyPreamble()
    {
        var p = new PickleBytes().Proto().Raw(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).Stop();
        p.Proto().Raw((byte)'M', 0xe9, 0x03).Stop();
        p.Proto().EmptyDict().Str("little_endian").Raw(0x88).SetItem().Stop();
        return p.ToArray();
    }

    /// <summary>A zip checkpoint whose data.pkl is the given pickle, plus optional storages.</summary>
    public static void WriteZip(string path, byte[] dataPkl, params (string Key, byte[] Data)[] storages)
    {
        using var fs = File.Create(path);
        using var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            using var s = zip.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        Add("archive/data.pkl", dataPkl);
        foreach (var (key, data) in storages)
        {
            Add($"archive/data/{key}", data);
        }

        Add("archive/version", "3\n"u8.ToArray());
    }
}
