using Onnx;

namespace Res2Net.Export;

/// <summary>An exported graph as protobuf objects and the native memory its weights are in: write it, then dispose it.</summary>
internal sealed class OnnxModel(ModelProto proto, OnnxGraph graph) : IDisposable
{
    /// <summary>The model; its float initializers point into the graph's memory while this is not disposed.</summary>
    public ModelProto Proto { get; private set; } = proto;

    /// <summary>Replaces the model by one derived from it (quantized), which may still point into the same memory.</summary>
    public void Replace(ModelProto derived) => Proto = derived;

    public void Dispose() => graph.Dispose();
}
