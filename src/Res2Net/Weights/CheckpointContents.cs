namespace Res2Net.Weights;

/// <summary>
/// The whole object a checkpoint holds, for inspection: dicts become
/// <see cref="OrderedDictionary{TKey,TValue}"/>, lists <see cref="List{T}"/>, tuples <c>object?[]</c>,
/// tensors and bare storages <see cref="TensorData"/>; numbers, strings, bools and bytes stay as they are.
/// </summary>
internal sealed class CheckpointContents
{
    internal CheckpointContents(string container, object? root, IReadOnlyList<KeyValuePair<string, TensorData>> tensors)
    {
        Container = container;
        Root = root;
        Tensors = tensors;
    }

    /// <summary>"zip" (PyTorch &gt;= 1.6) or "legacy" (consecutive pickles).</summary>
    public string Container { get; }

    /// <summary>The object the checkpoint holds.</summary>
    public object? Root { get; }

    /// <summary>Every distinct tensor in the object, named by its path of keys (e.g. "state_dict.fc.weight").</summary>
    public IReadOnlyList<KeyValuePair<string, TensorData>> Tensors { get; }

    /// <summary>Number of distinct tensors.</summary>
    public int TensorCount => Tensors.Count;

    /// <summary>Bytes of tensor data.</summary>
    public long TotalBytes => Tensors.Sum(t => (long)t.Value.Data.Length);

    /// <summary>How many tensors of each element type.</summary>
    public IReadOnlyDictionary<DType, int> DTypeCounts =>
        Tensors.GroupBy(t => t.Value.DType).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
}
