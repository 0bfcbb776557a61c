using System.Buffers.Binary;
using Res2Net.Protocol.Grpc;

namespace Res2Net.Client.Internal;

/// <summary>
/// Typed gRPC <c>contents</c> turned into the raw layout, for servers that answer with them instead of
/// <c>raw_output_contents</c> (Triton never does; others may).
/// </summary>
internal static class GrpcContents
{
    /// <summary>The raw bytes, or null with <paramref name="problem"/> set.</summary>
    public static byte[]? TryToRaw(InferTensorContents? contents, TensorDatatype datatype, long count, out string? problem)
    {
        problem = null;
        if (contents is null)
        {
            if (count == 0)
            {
                return [];
            }

            problem = "no data: neither raw_output_contents nor contents";
            return null;
        }

        var size = datatype.GetElementSize();
        if (count * size > Array.MaxLength)
        {
            problem = $"{count} {datatype.ToWireName()} elements are more than one tensor can hold";
            return null;
        }

        int have;
        byte[] raw;
        switch (datatype)
        {
            case TensorDatatype.Bool:
                have = contents.BoolContents.Count;
                if (have != count)
                {
                    break;
                }

                raw = new byte[count];
                for (var i = 0; i < have; i++)
                {
                    raw[i] = contents.BoolContents[i] ? (byte)1 : (byte)0;
                }

                return raw;
            case TensorDatatype.Int8:
            case TensorDatatype.Int16:
            case TensorDatatype.Int32:
                have = contents.IntContents.Count;
                if (have != count)
                {
                    break;
                }

                // Narrowed to the low bytes, as the protocol widens them for the wire.
                raw = new byte[count * size];
                for (var i = 0; i < have; i++)
                {
                    var v = contents.IntContents[i];
                    switch (size)
                    {
                        case 1:
                            raw[i] = (byte)v;
                            break;
                        case 2:
                            BinaryPrimitives.WriteInt16LittleEndian(raw.AsSpan(i * 2), (short)v);
                            break;
                        default:
                            BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(i * 4), v);
                            break;
                    }
                }

                return raw;
            case TensorDatatype.UInt8:
            case TensorDatatype.UInt16:
            case TensorDatatype.UInt32:
                have = contents.UintContents.Count;
                if (have != count)
                {
                    break;
                }

                raw = new byte[count * size];
                for (var i = 0; i < have; i++)
                {
                    var v = contents.UintContents[i];
                    switch (size)
                    {
                        case 1:
                            raw[i] = (byte)v;
                            break;
                        case 2:
                            BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(i * 2), (ushort)v);
                            break;
                        default:
                            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(i * 4), v);
                            break;
                    }
                }

                return raw;
            case TensorDatatype.Int64:
                have = contents.Int64Contents.Count;
                if (have != count)
                {
                    break;
                }

                raw = new byte[count * 8];
                for (var i = 0; i < have; i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), contents.Int64Contents[i]);
                }

                return raw;
            case TensorDatatype.UInt64:
                have = contents.Uint64Contents.Count;
                if (have != count)
                {
                    break;
                }

                raw = new byte[count * 8];
                for (var i = 0; i < have; i++)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(i * 8), contents.Uint64Contents[i]);
                }

                return raw;
            case TensorDatatype.FP32:
                have = contents.Fp32Contents.Count;
                if (have != count)
                {
                    break;
                }

                raw = new byte[count * 4];
                for (var i = 0; i < have; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), contents.Fp32Contents[i]);
                }

                return raw;
            case TensorDatatype.FP64:
                have = contents.Fp64Contents.Count;
                if (have != count)
                {
                    break;
                }

                raw = new byte[count * 8];
                for (var i = 0; i < have; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), contents.Fp64Contents[i]);
                }

                return raw;
            case TensorDatatype.Bytes:
                have = contents.BytesContents.Count;
                if (have != count)
                {
                    break;
                }

                var elements = new ReadOnlyMemory<byte>[have];
                for (var i = 0; i < have; i++)
                {
                    elements[i] = contents.BytesContents[i].Memory;
                }

                return BytesLayout.Encode(elements);
            default:
                problem = $"{datatype.ToWireName()} can only travel in raw_output_contents, and the answer has none";
                return null;
        }

        problem = $"its typed contents hold {have} elements but the shape holds {count}";
        return null;
    }
}
