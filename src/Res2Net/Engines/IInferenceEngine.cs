using Res2Net.Models;
using static TorchSharp.torch;

namespace Res2Net.Engines;

/// <summary>What classify, features and bench need from an engine, whichever runtime executes the model.</summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>"torch" or "onnx".</summary>
    string EngineName { get; }

    /// <summary>Channels the model expects in its input batches.</summary>
    int InChannels { get; }

    IReadOnlyList<string> Labels { get; }

    /// <summary>Class probabilities (softmax of the logits), the top <paramref name="topk"/> per row.</summary>
    IReadOnlyList<ClassScore[]> Classify(Tensor batch, int topk = 5);

    /// <summary>The raw logits (N, classes).</summary>
    Tensor Logits(Tensor batch);

    /// <summary>The pooled embedding or one stage's feature map, as a CPU float32 tensor.</summary>
    Tensor Features(Tensor batch, FeatureStage stage);
}

/// <summary>Which runtime executes a model.</summary>
public enum EngineKind
{
    /// <summary>TorchSharp (LibTorch): also the engine for training and Grad-CAM.</summary>
    Torch,

    /// <summary>ONNX Runtime on the model exported by <see cref="Export.OnnxExporter"/>.</summary>
    Onnx,
}

/// <summary>Creates engines by kind, so commands take <c>--engine torch|onnx</c> with one code path.</summary>
public static class InferenceEngines
{
    public static EngineKind Parse(string name) => name.ToLowerInvariant() switch
    {
        "torch" => EngineKind.Torch,
        "onnx" => EngineKind.Onnx,
        _ => throw new ArgumentException($"Unknown engine '{name}'; choose torch or onnx."),
    };

    /// <summary>A registered model with a checkpoint (strictly loaded) on the chosen engine.</summary>
    public static IInferenceEngine Load(EngineKind kind, string modelName, string weightsPath, int? threads = null,
        Precision precision = Precision.Float32)
    {
        Precisions.Check(precision, kind);
        return kind switch
        {
            EngineKind.Onnx => OnnxEngine.Load(modelName, weightsPath, new OnnxEngineOptions { Threads = threads }),
            _ => TorchEngine.Load(modelName, weightsPath, precision: precision),
        };
    }

    /// <summary>An engine over a model already in memory (the ONNX engine exports it without caching).</summary>
    public static IInferenceEngine FromModel(EngineKind kind, Res2NetBackbone model, int? threads = null,
        Precision precision = Precision.Float32)
    {
        Precisions.Check(precision, kind);
        return kind switch
        {
            EngineKind.Onnx => OnnxEngine.FromModel(model, new OnnxEngineOptions { Threads = threads }),
            _ => new TorchEngine(model, precision: precision),
        };
    }
}
