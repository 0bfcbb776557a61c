using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Res2Net.Client.Internal;

/// <summary>
/// Bulk conversion between typed values and the protocol's little-endian bytes: one copy, no per-element work on a
/// little-endian host; a big-endian host swaps in place after the copy.
/// </summary>
internal static class LittleEndian
{
    public static byte[] GetBytes<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            Swap(bytes, Unsafe.SizeOf<T>());
        }

        return bytes;
    }

    public static T[] Read<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged
    {
        var values = new T[bytes.Length / Unsafe.SizeOf<T>()];
        var target = MemoryMarshal.AsBytes(values.AsSpan());
        bytes[..target.Length].CopyTo(target);
        if (!BitConverter.IsLittleEndian)
        {
            Swap(target, Unsafe.SizeOf<T>());
        }

        return values;
    }

    private static void Swap(Span<byte> bytes, int size)
    {
        switch (size)
        {
            case 2:
                var u16 = MemoryMarshal.Cast<byte, ushort>(bytes);
                BinaryPrimitives.ReverseEndianness(u16, u16);
                break;
            case 4:
                var u32 = MemoryMarshal.Cast<byte, uint>(bytes);
                BinaryPrimitives.ReverseEndianness(u32, u32);
                break;
            case 8:
                var u64 = MemoryMarshal.Cast<byte, ulong>(bytes);
                BinaryPrimitives.ReverseEndianness(u64, u64);
                break;
            default:
                break;
        }
    }
}
