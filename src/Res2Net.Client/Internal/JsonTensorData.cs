using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Res2Net.Client.Internal;

/// <summary>
/// Turns a JSON <c>data</c> array, flat or nested (only the leaves count, as in Triton), into the binary layout. Lenient
/// on what a server may write: integral floats for integers, 0/1 for booleans, "NaN"/"Infinity" strings for floats.
/// </summary>
internal static class JsonTensorData
{
    /// <summary>The elements in the binary layout, or null with <paramref name="problem"/> set.</summary>
    public static byte[]? TryRead(JsonElement data, TensorDatatype datatype, long count, out string? problem)
    {
        problem = null;
        if (data.ValueKind != JsonValueKind.Array)
        {
            problem = $"'data' is a JSON {data.ValueKind}, not an array";
            return null;
        }

        // Counted first, so that a shape claiming far more than the JSON holds allocates nothing.
        var leaves = CountLeaves(data);
        if (leaves != count)
        {
            problem = $"'data' holds {leaves} elements but the shape holds {count}";
            return null;
        }

        if (datatype == TensorDatatype.Bytes)
        {
            var elements = new List<ReadOnlyMemory<byte>>((int)count);
            if (!ReadStrings(data, elements, count, ref problem))
            {
                return null;
            }

            if (elements.Count != count)
            {
                problem = $"'data' holds {elements.Count} elements but the shape holds {count}";
                return null;
            }

            return BytesLayout.Encode(elements);
        }

        var size = datatype.GetElementSize();
        if (count * size > Array.MaxLength)
        {
            problem = $"{count} {datatype.ToWireName()} elements are more than one tensor can hold";
            return null;
        }

        var raw = new byte[count * size];
        long at = 0;
        if (!ReadNumbers(data, datatype, raw, size, ref at, count, ref problem))
        {
            return null;
        }

        if (at != count)
        {
            problem = $"'data' holds {at} elements but the shape holds {count}";
            return null;
        }

        return raw;
    }

    private static long CountLeaves(JsonElement array)
    {
        long leaves = 0;
        foreach (var item in array.EnumerateArray())
        {
            leaves += item.ValueKind == JsonValueKind.Array ? CountLeaves(item) : 1;
        }

        return leaves;
    }

    private static bool ReadStrings(JsonElement array, List<ReadOnlyMemory<byte>> elements, long count, ref string? problem)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                if (!ReadStrings(item, elements, count, ref problem))
                {
                    return false;
                }

                continue;
            }

            if (item.ValueKind != JsonValueKind.String)
            {
                problem = $"BYTES element {elements.Count} is a JSON {item.ValueKind}, not a string";
                return false;
            }

            if (elements.Count == count)
            {
                problem = $"'data' holds more elements than the shape's {count}";
                return false;
            }

            elements.Add(Encoding.UTF8.GetBytes(item.GetString()!));
        }

        return true;
    }

    private static bool ReadNumbers(JsonElement array, TensorDatatype datatype, byte[] raw, int size, ref long at, long count, ref string? problem)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                if (!ReadNumbers(item, datatype, raw, size, ref at, count, ref problem))
                {
                    return false;
                }

                continue;
            }

            if (at == count)
            {
                problem = $"'data' holds more elements than the shape's {count}";
                return false;
            }

            var target = raw.AsSpan((int)(at * size), size);
            if (!TryWrite(item, datatype, target))
            {
                problem = $"element {at} ({Shorten(item.GetRawText())}) is no {datatype.ToWireName()} value";
                return false;
            }

            at++;
        }

        return true;
    }

    private static bool TryWrite(JsonElement item, TensorDatatype datatype, Span<byte> target)
    {
        switch (datatype)
        {
            case TensorDatatype.Bool:
                if (item.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    target[0] = item.ValueKind == JsonValueKind.True ? (byte)1 : (byte)0;
                    return true;
                }

                if (TryInteger(item, out var flag) && flag is 0 or 1)
                {
                    target[0] = (byte)flag;
                    return true;
                }

                return false;
            case TensorDatatype.Int8:
            case TensorDatatype.Int16:
            case TensorDatatype.Int32:
            case TensorDatatype.Int64:
                if (!TryInteger(item, out var l))
                {
                    return false;
                }

                switch (datatype)
                {
                    case TensorDatatype.Int8 when l is >= sbyte.MinValue and <= sbyte.MaxValue:
                        target[0] = (byte)(sbyte)l;
                        return true;
                    case TensorDatatype.Int16 when l is >= short.MinValue and <= short.MaxValue:
                        BinaryPrimitives.WriteInt16LittleEndian(target, (short)l);
                        return true;
                    case TensorDatatype.Int32 when l is >= int.MinValue and <= int.MaxValue:
                        BinaryPrimitives.WriteInt32LittleEndian(target, (int)l);
                        return true;
                    case TensorDatatype.Int64:
                        BinaryPrimitives.WriteInt64LittleEndian(target, l);
                        return true;
                    default:
                        return false;
                }

            case TensorDatatype.UInt8:
            case TensorDatatype.UInt16:
            case TensorDatatype.UInt32:
            case TensorDatatype.UInt64:
                if (!TryUnsigned(item, out var u))
                {
                    return false;
                }

                switch (datatype)
                {
                    case TensorDatatype.UInt8 when u <= byte.MaxValue:
                        target[0] = (byte)u;
                        return true;
                    case TensorDatatype.UInt16 when u <= ushort.MaxValue:
                        BinaryPrimitives.WriteUInt16LittleEndian(target, (ushort)u);
                        return true;
                    case TensorDatatype.UInt32 when u <= uint.MaxValue:
                        BinaryPrimitives.WriteUInt32LittleEndian(target, (uint)u);
                        return true;
                    case TensorDatatype.UInt64:
                        BinaryPrimitives.WriteUInt64LittleEndian(target, u);
                        return true;
                    default:
                        return false;
                }

            case TensorDatatype.FP32:
                if (item.ValueKind == JsonValueKind.Number && item.TryGetSingle(out var f))
                {
                    BinaryPrimitives.WriteSingleLittleEndian(target, f);
                    return true;
                }

                if (TryFloat(item, out var d32))
                {
                    BinaryPrimitives.WriteSingleLittleEndian(target, (float)d32);
                    return true;
                }

                return false;
            case TensorDatatype.FP64:
                if (TryFloat(item, out var d))
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(target, d);
                    return true;
                }

                return false;
            case TensorDatatype.FP16:
                if (TryFloat(item, out var h))
                {
                    BinaryPrimitives.WriteHalfLittleEndian(target, (Half)h);
                    return true;
                }

                return false;
            case TensorDatatype.BF16:
                if (TryFloat(item, out var b))
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(target, ToBFloat16((float)b));
                    return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>The upper half of the FP32, rounded to nearest even (NaN kept a quiet NaN).</summary>
    private static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private static bool TryInteger(JsonElement item, out long value)
    {
        value = 0;
        if (item.ValueKind != JsonValueKind.Number)
        {
            return false;
        }

        if (item.TryGetInt64(out value))
        {
            return true;
        }

        // A server that writes every number as a double ("3.0").
        var d = item.GetDouble();
        if (d == Math.Floor(d) && d >= long.MinValue && d < 9.2233720368547758e18)
        {
            value = (long)d;
            return true;
        }

        return false;
    }

    private static bool TryUnsigned(JsonElement item, out ulong value)
    {
        value = 0;
        if (item.ValueKind != JsonValueKind.Number)
        {
            return false;
        }

        if (item.TryGetUInt64(out value))
        {
            return true;
        }

        var d = item.GetDouble();
        if (d == Math.Floor(d) && d >= 0 && d < 1.8446744073709552e19)
        {
            value = (ulong)d;
            return true;
        }

        return false;
    }

    private static bool TryFloat(JsonElement item, out double value)
    {
        value = 0;
        if (item.ValueKind == JsonValueKind.Number)
        {
            return item.TryGetDouble(out value);
        }

        if (item.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        // JSON has no NaN or infinity; some servers write them as strings.
        switch (item.GetString()!.Trim().ToLowerInvariant())
        {
            case "nan":
            case "-nan":
                value = double.NaN;
                return true;
            case "inf":
            case "+inf":
            case "infinity":
                value = double.PositiveInfinity;
                return true;
            case "-inf":
            case "-infinity":
                value = double.NegativeInfinity;
                return true;
            default:
                return false;
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
