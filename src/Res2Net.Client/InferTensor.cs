using System.Collections.ObjectModel;
using System.Text;
using Res2Net.Client.Internal;

namespace Res2Net.Client;

/// <summary>
/// A named tensor of a request or a response: datatype, shape and the elements as raw bytes in the protocol's own binary
/// layout (little-endian, row-major, no padding; BYTES elements each prefixed by a 4-byte little-endian length), exactly
/// as the binary tensor extension and gRPC raw contents carry them. Immutable; the factories check that the data
/// matches the shape.
/// </summary>
public sealed class InferTensor
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private InferTensor(string name, TensorDatatype datatype, long[] shape, long elementCount, ReadOnlyMemory<byte> data)
    {
        Name = name;
        Datatype = datatype;
        Shape = new ReadOnlyCollection<long>(shape);
        ElementCount = elementCount;
        Data = data;
    }

    /// <summary>The tensor's name, as the model's signature spells it.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public TensorDatatype Datatype { get; }

    /// <summary>The size of each dimension (all known: a tensor has no variable dimension).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The elements in the protocol's binary layout (see the type's summary).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>An FP32 tensor holding a copy of <paramref name="values"/>, whose count must be the product of <paramref name="shape"/>.</summary>
    public static InferTensor FromFloats(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values)
        => FromValues(name, TensorDatatype.FP32, shape, values);

    /// <summary>An FP64 tensor holding a copy of <paramref name="values"/>, whose count must be the product of <paramref name="shape"/>.</summary>
    public static InferTensor FromDoubles(string name, IReadOnlyList<long> shape, ReadOnlySpan<double> values)
        => FromValues(name, TensorDatatype.FP64, shape, values);

    /// <summary>An INT64 tensor holding a copy of <paramref name="values"/>, whose count must be the product of <paramref name="shape"/>.</summary>
    public static InferTensor FromInt64(string name, IReadOnlyList<long> shape, ReadOnlySpan<long> values)
        => FromValues(name, TensorDatatype.Int64, shape, values);

    /// <summary>An INT32 tensor holding a copy of <paramref name="values"/>, whose count must be the product of <paramref name="shape"/>.</summary>
    public static InferTensor FromInt32(string name, IReadOnlyList<long> shape, ReadOnlySpan<int> values)
        => FromValues(name, TensorDatatype.Int32, shape, values);

    /// <summary>
    /// A BYTES tensor of <paramref name="elements"/> (each up to 4 GiB - 1 bytes, copied), shaped
    /// <paramref name="shape"/> or, by default, <c>[count]</c>.
    /// </summary>
    public static InferTensor FromBytes(string name, IReadOnlyList<ReadOnlyMemory<byte>> elements, IReadOnlyList<long>? shape = null)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var dims = CheckShape(name, shape ?? [elements.Count], out var count);
        if (count != elements.Count)
        {
            throw new ArgumentException($"Tensor '{name}': a shape of [{string.Join(", ", dims)}] holds {count} elements, not {elements.Count}.", nameof(elements));
        }

        return new InferTensor(name, TensorDatatype.Bytes, dims, count, BytesLayout.Encode(elements));
    }

    /// <summary>
    /// A BYTES tensor of <paramref name="values"/> encoded as UTF-8, shaped <paramref name="shape"/> or, by default,
    /// <c>[count]</c>.
    /// </summary>
    public static InferTensor FromStrings(string name, IReadOnlyList<string> values, IReadOnlyList<long>? shape = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        var elements = new ReadOnlyMemory<byte>[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(values[i], $"{nameof(values)}[{i}]");
            elements[i] = Encoding.UTF8.GetBytes(values[i]);
        }

        return FromBytes(name, elements, shape ?? [values.Count]);
    }

    /// <summary>
    /// A tensor over <paramref name="data"/> already in the protocol's binary layout. The bytes are not copied: do not
    /// change them afterwards. Their length must be the product of <paramref name="shape"/> times the element size; for
    /// BYTES the length prefixes must chain exactly to the end and give as many elements as the shape holds.
    /// </summary>
    public static InferTensor FromRaw(string name, TensorDatatype datatype, IReadOnlyList<long> shape, ReadOnlyMemory<byte> data)
    {
        var dims = CheckShape(name, shape, out var count);
        var size = datatype.GetElementSize();
        if (datatype == TensorDatatype.Bytes)
        {
            if (BytesLayout.TrySplit(data, count, out var problem) is null)
            {
                throw new ArgumentException($"Tensor '{name}' (BYTES, shape [{string.Join(", ", dims)}]): {problem}.", nameof(data));
            }
        }
        else if (count * size != data.Length)
        {
            throw new ArgumentException(
                $"Tensor '{name}' ({datatype.ToWireName()}, shape [{string.Join(", ", dims)}]) needs {count * size} bytes, not {data.Length}.", nameof(data));
        }

        return new InferTensor(name, datatype, dims, count, data);
    }

    /// <summary>The elements of an FP32 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another datatype (no conversion is made).</exception>
    public float[] ToFloats() => ToValues<float>(TensorDatatype.FP32);

    /// <summary>The elements of an FP64 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another datatype (no conversion is made).</exception>
    public double[] ToDoubles() => ToValues<double>(TensorDatatype.FP64);

    /// <summary>The elements of an INT64 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another datatype (no conversion is made).</exception>
    public long[] ToInt64() => ToValues<long>(TensorDatatype.Int64);

    /// <summary>The elements of an INT32 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another datatype (no conversion is made).</exception>
    public int[] ToInt32() => ToValues<int>(TensorDatatype.Int32);

    /// <summary>The elements of a BYTES tensor, each a slice of <see cref="Data"/> without its length prefix.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another datatype.</exception>
    public IReadOnlyList<ReadOnlyMemory<byte>> ToBytesElements()
    {
        RequireDatatype(TensorDatatype.Bytes);

        // FromRaw checked the layout, so this cannot fail.
        return new ReadOnlyCollection<ReadOnlyMemory<byte>>(BytesLayout.TrySplit(Data, ElementCount, out _)!);
    }

    /// <summary>The elements of a BYTES tensor decoded as UTF-8.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another datatype, or an element is not valid UTF-8 (read it with <see cref="ToBytesElements"/>).</exception>
    public IReadOnlyList<string> ToStrings()
    {
        var elements = ToBytesElements();
        var strings = new string[elements.Count];
        for (var i = 0; i < strings.Length; i++)
        {
            try
            {
                strings[i] = StrictUtf8.GetString(elements[i].Span);
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidOperationException($"Element {i} of tensor '{Name}' is not valid UTF-8; read it with ToBytesElements().", e);
            }
        }

        return new ReadOnlyCollection<string>(strings);
    }

    /// <summary>The name, datatype and shape, for example <c>logits FP32 [1, 1000]</c>.</summary>
    public override string ToString() => $"{Name} {Datatype.ToWireName()} [{string.Join(", ", Shape)}]";

    internal static long[] CheckShape(string name, IReadOnlyList<long> shape, out long count)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        var dims = new long[shape.Count];
        count = 1;
        for (var i = 0; i < dims.Length; i++)
        {
            dims[i] = shape[i];
            if (dims[i] < 0)
            {
                throw new ArgumentException($"Tensor '{name}': dimension {i} of its shape is {dims[i]}; a tensor's dimensions are all known and at least 0.", nameof(shape));
            }

            if (count != 0 && dims[i] > Array.MaxLength / count)
            {
                throw new ArgumentException($"Tensor '{name}': a shape of [{string.Join(", ", shape)}] holds more elements than one tensor can.", nameof(shape));
            }

            count *= dims[i];
        }

        return dims;
    }

    private static InferTensor FromValues<T>(string name, TensorDatatype datatype, IReadOnlyList<long> shape, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var dims = CheckShape(name, shape, out var count);
        if (count != values.Length)
        {
            throw new ArgumentException($"Tensor '{name}': a shape of [{string.Join(", ", dims)}] holds {count} values, not {values.Length}.", nameof(values));
        }

        return new InferTensor(name, datatype, dims, count, LittleEndian.GetBytes(values));
    }

    private T[] ToValues<T>(TensorDatatype datatype)
        where T : unmanaged
    {
        RequireDatatype(datatype);
        return LittleEndian.Read<T>(Data.Span);
    }

    private void RequireDatatype(TensorDatatype datatype)
    {
        if (Datatype != datatype)
        {
            throw new InvalidOperationException($"Tensor '{Name}' is {Datatype.ToWireName()}, not {datatype.ToWireName()}.");
        }
    }
}
