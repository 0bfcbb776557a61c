using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Res2Net.Export;

/// <summary>
/// Appends nodes and initializers to an ONNX graph in the order they are created, so the graph is topologically sorted
/// by construction (every node only reads names that exist already). The initializers' bytes are held in native memory
/// the graph owns: dispose it once the model is written.
/// </summary>
internal sealed class OnnxGraph : IDisposable
{
    private readonly List<NativeBuffer> buffers = [];
    private readonly HashSet<string> names = [];
    private readonly HashSet<string> nodeNames = [];
    private int counter;

    public OnnxGraph(string name, int opset)
    {
        Graph = new GraphProto { Name = name };
        Opset = opset;
    }

    public GraphProto Graph { get; }

    public int Opset { get; }

    public void AddInput(string name, long?[] dims, string[] symbolic)
    {
        Graph.Input.Add(ValueInfo(name, dims, symbolic));
        names.Add(name);
    }

    public void AddOutput(string name, long?[] dims, string[] symbolic) => Graph.Output.Add(ValueInfo(name, dims, symbolic));

    /// <summary>A float32 initializer holding <paramref name="data"/> (little-endian float32 bytes, copied into the graph's native memory).</summary>
    public string Initializer(string hint, ReadOnlySpan<byte> data, params long[] dims)
    {
        var name = Unique(hint);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        var buffer = new NativeBuffer(data);
        buffers.Add(buffer);
        tensor.RawData = UnsafeByteOperations.UnsafeWrap(buffer.Memory);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float32 initializer holding <paramref name="data"/>.</summary>
    public string Initializer(string hint, float[] data, params long[] dims) => Initializer(hint, MemoryMarshal.AsBytes(data.AsSpan()), dims);

    /// <summary>Frees the initializers' bytes: the graph must not be written after this.</summary>
    public void Dispose()
    {
        foreach (var buffer in buffers)
        {
            ((IDisposable)buffer).Dispose();
        }

        buffers.Clear();
    }

    public string Int64Initializer(string hint, params long[] data)
    {
        var name = Unique(hint);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(data.Length);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node with one output and returns that output's name.</summary>
    public string Node(string op, string hint, string[] inputs, params AttributeProto[] attributes) =>
        NodeN(op, hint, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs.</summary>
    public string[] NodeN(string op, string hint, string[] inputs, int outputs, params AttributeProto[] attributes)
    {
        foreach (var input in inputs)
        {
            if (input.Length > 0 && !names.Contains(input))
            {
                throw new InvalidOperationException($"Node {hint} reads {input} before it is produced.");
            }
        }

        var node = new NodeProto { OpType = op, Name = Unique(hint, nodeNames) };
        node.Input.AddRange(inputs);
        var result = new string[outputs];
        for (var i = 0; i < outputs; i++)
        {
            result[i] = Unique(outputs == 1 ? hint : $"{hint}_{i}");
            node.Output.Add(result[i]);
        }

        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return result;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    // Values and nodes have separate namespaces, so a graph output keeps its exact name ("logits").
    private string Unique(string hint, HashSet<string>? set = null)
    {
        set ??= names;
        var name = hint;
        while (!set.Add(name))
        {
            name = $"{hint}_{++counter}";
        }

        return name;
    }

    private static ValueInfoProto ValueInfo(string name, long?[] dims, string[] symbolic)
    {
        var shape = new TensorShapeProto();
        for (var i = 0; i < dims.Length; i++)
        {
            shape.Dim.Add(dims[i] is { } d
                ? new TensorShapeProto.Types.Dimension { DimValue = d }
                : new TensorShapeProto.Types.Dimension { DimParam = symbolic[i] });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }
}
