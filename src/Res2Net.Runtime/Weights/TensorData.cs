using System.Buffers.Binary;

namespace Res2Net.Weights;

/// <summary>
/// A tensor as raw data: contiguous, C order, little-endian bytes of <see cref="DType"/> elements.
/// </summary>
public sealed record TensorData(DType DType, long[] Shape, byte[] Data)
{
    /// <summary>The product of the shape (1 for a scalar).</summary>
    public long NumElements => CountElements(Shape);

    /// <summary>The product of a shape, checked for negative sizes and overflow.</summary>
    public static long CountElements(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"negative dimension {d} in shape.", nameof(shape));
            }

            n = checked(n * d);
        }
        return n;
    }

    /// <summary>The elements converted to float32 (from any float type, including f16/bf16, or ints and bools).</summary>
    public float[] ToFloatArray()
    {
        long count = NumElements;
        if (count * DType.ElementSize() != Data.Length)
        {
            throw new InvalidOperationException($"tensor data holds {Data.Length} bytes but shape [{string.Join(", ", Shape)}] of {DType} needs {count * DType.ElementSize()}.");
        }

        var result = new float[count];
        ReadOnlySpan<byte> d = Data;
        switch (DType)
        {
            case DType.Float32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(d).CopyTo(result);
                if (!BitConverter.IsLittleEndian)
                {
                    for (int i = 0; i < result.Length; i++)
                    {
                        result[i] = BinaryPrimitives.ReadSingleLittleEndian(d[(i * 4)..]);
                    }
                }

                break;
            case DType.Float64:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(d[(i * 8)..]);
                }

                break;
            case DType.Float16:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(d[(i * 2)..]);
                }

                break;
            case DType.BFloat16:
                // bfloat16 is the upper half of a float32.
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(d[(i * 2)..]) << 16);
                }

                break;
            case DType.Int64:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BinaryPrimitives.ReadInt64LittleEndian(d[(i * 8)..]);
                }

                break;
            case DType.Int32:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BinaryPrimitives.ReadInt32LittleEndian(d[(i * 4)..]);
                }

                break;
            case DType.Int16:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BinaryPrimitives.ReadInt16LittleEndian(d[(i * 2)..]);
                }

                break;
            case DType.Int8:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (sbyte)d[i];
                }

                break;
            case DType.UInt8:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = d[i];
                }

                break;
            case DType.Bool:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = d[i] != 0 ? 1f : 0f;
                }

                break;
            default:
                throw new NotSupportedException($"dtype {DType}.");
        }
        return result;
    }

    /// <summary>A float32 tensor of the given shape; the data is copied.</summary>
    public static TensorData FromFloats(float[] data, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = CountElements(shape);
        if (count != data.Length)
        {
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {count} elements but {data.Length} values were given.", nameof(data));
        }

        var bytes = new byte[checked(data.Length * 4)];
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), data[i]);
        }

        return new TensorData(DType.Float32, (long[])shape.Clone(), bytes);
    }

    /// <summary>Strides in elements of a C-contiguous tensor of this shape.</summary>
    public static long[] ContiguousStrides(IReadOnlyList<long> shape)
    {
        var strides = new long[shape.Count];
        long s = 1;
        for (int i = shape.Count - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
        return strides;
    }

    /// <summary>Checks that the data length matches dtype and shape (for writers).</summary>
    internal void Validate(string what)
    {
        long count = CountElements(Shape);
        if (count * DType.ElementSize() != Data.Length)
        {
            throw new ArgumentException($"{what}: the data holds {Data.Length} bytes but shape [{string.Join(", ", Shape)}] of {DType} needs {count * DType.ElementSize()}.");
        }
    }
}
