using Res2Net.Models;

namespace Res2Net.Engines;

/// <summary>
/// A model ready to run, whichever runtime executes it (ONNX Runtime here; TorchSharp in the Res2Net package). Inputs
/// are normalised batches (N, <see cref="ModelMetadata.InChannels"/>, H, W) as <see cref="Imaging.ImagePreprocessor"/>
/// makes them. Implementations may be called from several threads at once.
/// </summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>"onnx" or "torch".</summary>
    string EngineName { get; }

    /// <summary>Number format the engine computes in: "fp32", "bf16" or "int8".</summary>
    string Precision { get; }

    /// <summary>What the weights are for: model, channels, classes and their names, preprocessing.</summary>
    ModelMetadata Metadata { get; }

    /// <summary>The feature outputs <see cref="Features"/> can return.</summary>
    IReadOnlyList<FeatureStage> FeatureStages { get; }

    /// <summary>The raw logits, (N, classes).</summary>
    FloatTensor Logits(FloatTensor batch);

    /// <summary>One tensor per requested stage, in order, from one pass: (N, C) pooled, (N, C, H, W) for a stage map.</summary>
    IReadOnlyList<FloatTensor> Features(FloatTensor batch, IReadOnlyList<FeatureStage> stages);
}
