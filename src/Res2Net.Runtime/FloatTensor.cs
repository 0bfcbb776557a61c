using System.Collections.ObjectModel;

namespace Res2Net;

/// <summary>
/// float32 values with a shape, in C order: what preprocessing produces and engines take and return (a photo as
/// (C, H, W), a batch as (N, C, H, W), logits as (N, classes)). Immutable: the values are only readable through it, and
/// a <see cref="Row"/> shares them without a copy.
/// </summary>
public sealed class FloatTensor
{
    private readonly long[] shape;

    /// <summary>Wraps <paramref name="values"/> (not copied: do not change them afterwards) with a shape whose product is their count.</summary>
    public FloatTensor(ReadOnlyMemory<float> values, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            count = checked(count * d);
        }

        if (count != values.Length)
        {
            throw new ArgumentException($"A shape of ({string.Join(", ", shape)}) holds {count} values, not {values.Length}.", nameof(values));
        }

        Values = values;
        this.shape = (long[])shape.Clone();
        Shape = new ReadOnlyCollection<long>(this.shape);
    }

    /// <summary>The values in C order.</summary>
    public ReadOnlyMemory<float> Values { get; }

    /// <summary>The size of each dimension.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>The shape as an array the caller may keep (a copy).</summary>
    public long[] ShapeArray() => (long[])shape.Clone();

    /// <summary>Entry <paramref name="index"/> of the first dimension (a row of a batch), sharing the values.</summary>
    public FloatTensor Row(long index)
    {
        if (shape.Length == 0)
        {
            throw new InvalidOperationException("A scalar has no rows.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, shape[0]);
        var size = Values.Length / (int)Math.Max(shape[0], 1);
        return new FloatTensor(Values.Slice((int)(index * size), size), shape[1..]);
    }

    /// <summary>Equal-shaped tensors stacked along a new first dimension (copied into one array).</summary>
    public static FloatTensor Stack(IReadOnlyList<FloatTensor> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            throw new ArgumentException("Nothing to stack.", nameof(items));
        }

        var first = items[0].shape;
        var size = items[0].Values.Length;
        var data = new float[(long)size * items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (!items[i].shape.AsSpan().SequenceEqual(first))
            {
                throw new ArgumentException($"Item {i} has shape ({string.Join(", ", items[i].shape)}), not ({string.Join(", ", first)}).", nameof(items));
            }

            items[i].Values.Span.CopyTo(data.AsSpan(i * size, size));
        }

        return new FloatTensor(data, [items.Count, .. first]);
    }

    /// <summary>The shape without copying, for this library's own calls into runtimes that take an array.</summary>
    internal long[] ShapeUnsafe => shape;

    /// <summary>The shape as "(2, 3, 224, 224)", for messages.</summary>
    public override string ToString() => $"({string.Join(", ", shape)})";
}
