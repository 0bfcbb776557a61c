using System.Text;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>The protocol's tensor datatypes and what each element costs on the wire.</summary>
internal static class Datatypes
{
    /// <summary>32-bit floats: the tensors the model takes and gives.</summary>
    public const string Fp32 = "FP32";

    /// <summary>Byte strings: encoded photos in, classification results out.</summary>
    public const string Bytes = "BYTES";

    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1,
        ["UINT8"] = 1,
        ["UINT16"] = 2,
        ["UINT32"] = 4,
        ["UINT64"] = 8,
        ["INT8"] = 1,
        ["INT16"] = 2,
        ["INT32"] = 4,
        ["INT64"] = 8,
        ["FP16"] = 2,
        ["BF16"] = 2,
        ["FP32"] = 4,
        ["FP64"] = 8,
        ["BYTES"] = 4,
    };

    /// <summary>Whether <paramref name="datatype"/> is one of the protocol's.</summary>
    public static bool IsKnown(string datatype) => Sizes.ContainsKey(datatype);

    /// <summary>
    /// The element count of <paramref name="shape"/>, refused before anything is allocated when it is negative, overflows,
    /// or needs more bytes than <paramref name="available"/> at <paramref name="bytesPerElement"/> each at least.
    /// </summary>
    public static long ElementCount(string input, IReadOnlyList<long> shape, long available, int bytesPerElement)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw ProtocolException.Bad($"Input '{input}' has a negative dimension in its shape {Shape(shape)}.");
            }

            if (d > 0 && count > available / d)
            {
                count = long.MaxValue;
                break;
            }

            count *= d;
        }

        if (count > available / Math.Max(1, bytesPerElement))
        {
            throw ProtocolException.Bad($"Input '{input}' declares shape {Shape(shape)}, more elements than the {available:N0} bytes of the request can hold.");
        }

        return count;
    }

    /// <summary>A shape as the protocol writes it: [1, 3, 224, 224].</summary>
    public static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>
    /// Splits the binary layout of a BYTES tensor (each element a 4-byte little-endian length, then its bytes) into
    /// its elements, checking it holds exactly <paramref name="count"/>.
    /// </summary>
    public static ReadOnlyMemory<byte>[] SplitBytes(string input, ReadOnlyMemory<byte> data, long count)
    {
        var elements = new ReadOnlyMemory<byte>[count];
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            if (data.Length - offset < 4)
            {
                throw ProtocolException.Bad($"Input '{input}' holds {i} BYTES elements, not the {count} its shape says.");
            }

            var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data.Span[offset..]);
            offset += 4;
            if (length > data.Length - offset)
            {
                throw ProtocolException.Bad($"Input '{input}': element {i} declares {length:N0} bytes, more than the {data.Length - offset:N0} left.");
            }

            elements[i] = data.Slice(offset, (int)length);
            offset += (int)length;
        }

        if (offset != data.Length)
        {
            throw ProtocolException.Bad($"Input '{input}' has {data.Length - offset:N0} bytes after its {count} BYTES elements.");
        }

        return elements;
    }

    /// <summary>The binary layout of BYTES elements.</summary>
    public static byte[] JoinBytes(IReadOnlyList<byte[]> elements)
    {
        var data = new byte[elements.Sum(e => 4L + e.Length)];
        var offset = 0;
        foreach (var e in elements)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(offset), (uint)e.Length);
            e.CopyTo(data, offset + 4);
            offset += 4 + e.Length;
        }

        return data;
    }

    /// <summary>UTF-8 text of one classification result.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
