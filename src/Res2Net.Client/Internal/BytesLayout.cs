using System.Buffers.Binary;

namespace Res2Net.Client.Internal;

/// <summary>
/// The BYTES layout shared by the binary tensor extension and gRPC raw contents: each element is a uint32
/// little-endian length followed by that many bytes, with no terminator or padding.
/// </summary>
internal static class BytesLayout
{
    public static byte[] Encode(IReadOnlyList<ReadOnlyMemory<byte>> elements)
    {
        long total = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            total += 4L + elements[i].Length;
        }

        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"The elements take {total} bytes, more than one tensor can hold.", nameof(elements));
        }

        var data = new byte[total];
        var at = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            var element = elements[i].Span;
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), (uint)element.Length);
            element.CopyTo(data.AsSpan(at + 4));
            at += 4 + element.Length;
        }

        return data;
    }

    /// <summary>The elements as slices of <paramref name="data"/>, or null with <paramref name="problem"/> set when the layout is broken.</summary>
    public static ReadOnlyMemory<byte>[]? TrySplit(ReadOnlyMemory<byte> data, long expectedCount, out string? problem)
    {
        problem = null;
        if (expectedCount > data.Length / 4)
        {
            problem = $"{data.Length} bytes cannot hold {expectedCount} length-prefixed elements";
            return null;
        }

        var elements = new ReadOnlyMemory<byte>[expectedCount];
        var span = data.Span;
        var at = 0;
        for (var i = 0; i < expectedCount; i++)
        {
            if (span.Length - at < 4)
            {
                problem = $"element {i} of {expectedCount} has no 4-byte length prefix (the data ends at byte {data.Length})";
                return null;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
            at += 4;
            if (length > (uint)(span.Length - at))
            {
                problem = $"element {i} of {expectedCount} claims {length} bytes but only {span.Length - at} remain";
                return null;
            }

            elements[i] = data.Slice(at, (int)length);
            at += (int)length;
        }

        if (at != span.Length)
        {
            problem = $"{span.Length - at} bytes follow the {expectedCount} elements the shape holds";
            return null;
        }

        return elements;
    }
}
