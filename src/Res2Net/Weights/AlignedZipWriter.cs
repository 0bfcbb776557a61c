using System.Buffers.Binary;
using System.Text;

namespace Res2Net.Weights;

/// <summary>
/// Writes a zip of stored (uncompressed) entries whose data start at multiples of 64 bytes, padded
/// with an "FB" extra field in the local header exactly as PyTorch's PyTorchStreamWriter does (so the
/// storages can be memory-mapped). System.IO.Compression cannot write extra fields, hence this writer;
/// the zip is read back with System.IO.Compression. Archives up to 4 GiB (no zip64).
/// </summary>
internal sealed class AlignedZipWriter(Stream output)
{
    private const int Alignment = 64;
    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> _entries = [];

    public void Add(string name, ReadOnlySpan<byte> data)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        long offset = output.Position;
        if (offset + data.Length + 30 + nameBytes.Length + Alignment + 4 > uint.MaxValue)
        {
            throw new NotSupportedException("checkpoints over 4 GiB need zip64, which this writer does not implement.");
        }

        long dataStart = offset + 30 + nameBytes.Length + 4;
        int padding = (int)((Alignment - dataStart % Alignment) % Alignment);
        uint crc = Crc32.Compute(data);

        Span<byte> h = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);          // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 0);           // flags
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0);           // stored
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0);          // time
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], 0x21);       // date 1980-01-01: deterministic output
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)(4 + padding));
        output.Write(h);
        output.Write(nameBytes);
        Span<byte> extra = stackalloc byte[4 + padding];
        extra[0] = (byte)'F';
        extra[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)padding);
        extra[4..].Fill((byte)'Z');
        output.Write(extra);
        output.Write(data);
        _entries.Add((nameBytes, crc, (uint)data.Length, (uint)offset));
    }

    /// <summary>Writes the central directory and its end record.</summary>
    public void Finish()
    {
        long start = output.Position;
        Span<byte> c = stackalloc byte[46];
        foreach (var (name, crc, size, offset) in _entries)
        {
            c.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(c, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c[4..], 20);      // version made by
            BinaryPrimitives.WriteUInt16LittleEndian(c[6..], 20);      // version needed
            BinaryPrimitives.WriteUInt16LittleEndian(c[14..], 0x21);   // date
            BinaryPrimitives.WriteUInt32LittleEndian(c[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c[20..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(c[24..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(c[28..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(c[42..], offset);
            output.Write(c);
            output.Write(name);
        }
        long size32 = output.Position - start;
        if (output.Position > uint.MaxValue || _entries.Count > ushort.MaxValue)
        {
            throw new NotSupportedException("checkpoints over 4 GiB or 65,535 entries need zip64, which this writer does not implement.");
        }

        Span<byte> end = stackalloc byte[22];
        end.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)size32);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)start);
        output.Write(end);
    }

    /// <summary>The zip CRC-32 (polynomial 0xEDB88320); the BCL has no public CRC-32.</summary>
    private static class Crc32
    {
        private static readonly uint[] Table = CreateTable();

        private static uint[] CreateTable()
        {
            var table = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                table[i] = c;
            }
            return table;
        }

        public static uint Compute(ReadOnlySpan<byte> data)
        {
            uint crc = 0xFFFFFFFFu;
            foreach (byte b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return ~crc;
        }
    }
}
