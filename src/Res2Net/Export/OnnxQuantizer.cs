using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Res2Net.Export;


/// <summary>
/// Static INT8 quantization of an exported graph in ONNX's QDQ form (QuantizeLinear/DequantizeLinear pairs), which
/// ONNX Runtime turns into its integer kernels (QLinearConv, QLinearAdd, ...; VNNI where the CPU has it). Written here
/// because ONNX Runtime's quantization tool is Python only. Activations are uint8 with a per-tensor range from
/// calibration; convolution weights int8, symmetric, one scale per output channel; biases int32 at the product scale.
/// The head (global pooling, classifier) stays float32.
/// </summary>
internal static class OnnxQuantizer
{
    private const int Float = (int)TensorProto.Types.DataType.Float;
    private const int UInt8 = (int)TensorProto.Types.DataType.Uint8;
    private const int Int8 = (int)TensorProto.Types.DataType.Int8;
    private const int Int32 = (int)TensorProto.Types.DataType.Int32;

    // Ops whose outputs stay float32: the pooled head is tiny and its outputs are what users read.
    private static readonly HashSet<string> FloatOps = ["GlobalAveragePool", "Flatten", "Gemm", "Identity"];

    // Ops that only move or select values: their outputs take their input's scale, so ONNX Runtime can drop the pair.
    private static readonly HashSet<string> SameScaleOps = ["MaxPool", "Split"];

    /// <summary>
    /// Runs <paramref name="model"/> (float32, unoptimised, so every value exists) on calibration batches and records
    /// the range of every value. The batches are float32 NCHW, already normalised, as the model takes them.
    /// </summary>
    /// <param name="model">The float32 graph to quantize.</param>
    /// <param name="batches">Representative inputs.</param>
    /// <param name="threads">ONNX Runtime's intra-op threads; null: its default.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public static Dictionary<string, ValueRange> Calibrate(ModelProto model, IEnumerable<FloatTensor> batches, int? threads = null,
        CancellationToken cancellationToken = default)
    {
        var probe = model.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var value in probe.Graph.Node.SelectMany(n => n.Output).Where(outputs.Add).ToList())
        {
            probe.Graph.Output.Add(new ValueInfoProto
            {
                Name = value,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = Float } },
            });
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        if (threads is { } t)
        {
            options.IntraOpNumThreads = t;
        }

        using var session = new InferenceSession(probe.ToByteArray(), options);
        var inputName = probe.Graph.Input[0].Name;
        var names = probe.Graph.Output.Select(o => o.Name).ToArray();
        var ranges = new Dictionary<string, ValueRange>();
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var data = batch.Values.Span;
            var shape = batch.ShapeArray();
            Observe(ranges, inputName, data);

            // One image at a time: every value of the graph is an output here, which at batch 32 and 224x224 would
            // hold gigabytes at once.
            var per = (int)(data.Length / shape[0]);
            for (var n = 0; n < shape[0]; n++)
            {
                var one = data.Slice(n * per, per).ToArray();
                using var value = OrtValue.CreateTensorValueFromMemory(one, [1, .. shape[1..]]);
                using var runOptions = new RunOptions();
                using var results = session.Run(runOptions, [inputName], [value], names);
                for (var i = 0; i < names.Length; i++)
                {
                    Observe(ranges, names[i], results[i].GetTensorDataAsSpan<float>());
                }
            }
        }

        return ranges.Count > 0 ? ranges : throw new InvalidOptionException("Batches", "must hold at least one image to calibrate on");
    }

    /// <summary>The QDQ form of <paramref name="model"/> with activation ranges from <see cref="Calibrate"/>.</summary>
    public static ModelProto Quantize(ModelProto model, IReadOnlyDictionary<string, ValueRange> ranges)
    {
        var result = model.Clone();
        var graph = result.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var producers = new Dictionary<string, NodeProto>();
        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var node in graph.Node)
        {
            foreach (var o in node.Output)
            {
                producers[o] = node;
            }

            foreach (var i in node.Input.Where(i => i.Length > 0))
            {
                (consumers.TryGetValue(i, out var list) ? list : consumers[i] = []).Add(node);
            }
        }

        // Which values get a QuantizeLinear/DequantizeLinear pair, and with what parameters (in graph order, so a
        // same-scale op finds its input's parameters).
        var qparams = new Dictionary<string, (float Scale, byte ZeroPoint)>();
        bool Wanted(string value) =>
            ranges.ContainsKey(value)
            && consumers.TryGetValue(value, out var users)
            && !users.All(u => u.OpType == "Relu")      // quantized after the ReLU instead (ONNX Runtime then drops the ReLU)
            && !(producers.TryGetValue(value, out var p) && FloatOps.Contains(p.OpType));

        var inputName = graph.Input[0].Name;
        if (Wanted(inputName))
        {
            qparams[inputName] = Params(ranges[inputName]);
        }

        foreach (var node in graph.Node)
        {
            foreach (var o in node.Output.Where(Wanted))
            {
                qparams[o] = SameScaleOps.Contains(node.OpType) && qparams.TryGetValue(node.Input[0], out var same) ? same : Params(ranges[o]);
            }
        }

        var nodes = new List<NodeProto>();
        var newInitializers = new List<TensorProto>();
        var removed = new HashSet<string>();
        var counter = 0;
        string Unique(string hint) => $"{hint}_q{counter++}";

        // A QuantizeLinear/DequantizeLinear pair after a value; returns the dequantized value's name.
        string Pair(string value, (float Scale, byte ZeroPoint) p)
        {
            var scale = Scalar(Unique(value + ".scale"), Float, BitConverter.GetBytes(p.Scale));
            var zero = Scalar(Unique(value + ".zero_point"), UInt8, [p.ZeroPoint]);
            newInitializers.Add(scale);
            newInitializers.Add(zero);
            var q = Unique(value + ".u8");
            var dq = Unique(value + ".dq");
            nodes.Add(Node("QuantizeLinear", q, [value, scale.Name, zero.Name], q));
            nodes.Add(Node("DequantizeLinear", dq, [q, scale.Name, zero.Name], dq));
            return dq;
        }

        // An integer initializer with one scale per output channel (zero points 0) and its DequantizeLinear (axis 0),
        // replacing the float initializer it was made from; returns the dequantized value's name.
        string PerChannel(TensorProto original, string suffix, int type, byte[] raw, float[] scales)
        {
            var data = new TensorProto { Name = Unique(original.Name + suffix), DataType = type, RawData = ByteString.CopyFrom(raw) };
            data.Dims.AddRange(original.Dims);
            var scale = Vector(Unique(original.Name + ".scale"), Float, MemoryMarshal.AsBytes(scales.AsSpan()).ToArray(), scales.Length);
            var zero = Vector(Unique(original.Name + ".zero_point"), type, new byte[(type == Int32 ? 4 : 1) * scales.Length], scales.Length);
            newInitializers.AddRange([data, scale, zero]);
            removed.Add(original.Name);
            var dq = Unique(original.Name + ".dq");
            nodes.Add(Node("DequantizeLinear", dq, [data.Name, scale.Name, zero.Name], dq, Axis(0)));
            return dq;
        }

        var dequantized = new Dictionary<string, string>();
        if (qparams.TryGetValue(inputName, out var inputParams))
        {
            dequantized[inputName] = Pair(inputName, inputParams);
        }

        foreach (var node in graph.Node)
        {
            if (node.OpType == "Conv" && dequantized.ContainsKey(node.Input[0]) && initializers.TryGetValue(node.Input[1], out var w))
            {
                var inputScale = qparams[node.Input[0]].Scale;
                var (wq, wScales) = QuantizeWeights(w);
                node.Input[1] = PerChannel(w, ".i8", Int8, MemoryMarshal.AsBytes(wq.AsSpan()).ToArray(), wScales);

                if (node.Input.Count > 2 && initializers.TryGetValue(node.Input[2], out var b))
                {
                    // int32 bias at scale (input scale x weight scale): what the integer kernels add to their sums.
                    var bias = Floats(b);
                    var bScales = wScales.Select(s => inputScale * s).ToArray();
                    var bq = new int[bias.Length];
                    for (var c = 0; c < bias.Length; c++)
                    {
                        bq[c] = (int)Math.Clamp(Math.Round(bias[c] / bScales[c]), int.MinValue, int.MaxValue);
                    }

                    node.Input[2] = PerChannel(b, ".i32", Int32, MemoryMarshal.AsBytes(bq.AsSpan()).ToArray(), bScales);
                }
            }

            for (var i = 0; i < node.Input.Count; i++)
            {
                if (dequantized.TryGetValue(node.Input[i], out var dq))
                {
                    node.Input[i] = dq;
                }
            }

            nodes.Add(node);
            foreach (var o in node.Output)
            {
                if (qparams.TryGetValue(o, out var p))
                {
                    dequantized[o] = Pair(o, p);
                }
            }
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        var kept = graph.Initializer.Where(t => !removed.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        graph.Initializer.AddRange(newInitializers);
        result.ProducerVersion += "-int8";
        return result;
    }

    /// <summary>uint8 parameters covering the range and zero (so zero padding and ReLU outputs are exact).</summary>
    private static (float Scale, byte ZeroPoint) Params(ValueRange r)
    {
        float lo = Math.Min(r.Min, 0), hi = Math.Max(r.Max, 0);
        var scale = hi > lo ? (hi - lo) / 255f : 1f;
        var zero = (byte)Math.Clamp(Math.Round(-lo / scale), 0, 255);
        return (scale, zero);
    }

    /// <summary>Symmetric int8 per output channel (axis 0): scale = max |w| / 127.</summary>
    private static (sbyte[] Values, float[] Scales) QuantizeWeights(TensorProto w)
    {
        var data = Floats(w);
        var channels = (int)w.Dims[0];
        var per = data.Length / channels;
        var scales = new float[channels];
        var q = new sbyte[data.Length];
        for (var c = 0; c < channels; c++)
        {
            var span = data.AsSpan(c * per, per);
            var max = 0f;
            foreach (var v in span)
            {
                max = Math.Max(max, Math.Abs(v));
            }

            scales[c] = max > 0 ? max / 127f : 1f;
            for (var i = 0; i < per; i++)
            {
                q[(c * per) + i] = (sbyte)Math.Clamp(Math.Round(span[i] / scales[c]), -127, 127);
            }
        }

        return (q, scales);
    }

    private static float[] Floats(TensorProto t) =>
        t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();

    private static void Observe(Dictionary<string, ValueRange> ranges, string name, ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        ranges[name] = ranges.TryGetValue(name, out var r) ? new ValueRange(Math.Min(r.Min, min), Math.Max(r.Max, max)) : new ValueRange(min, max);
    }

    private static TensorProto Scalar(string name, int type, byte[] raw) =>
        new() { Name = name, DataType = type, RawData = ByteString.CopyFrom(raw) };

    private static TensorProto Vector(string name, int type, byte[] raw, long length)
    {
        var t = Scalar(name, type, raw);
        t.Dims.Add(length);
        return t;
    }

    private static AttributeProto Axis(long axis) => OnnxGraph.Int("axis", axis);

    private static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }
}
