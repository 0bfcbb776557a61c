using Res2Net.Models;

namespace Res2Net.Engines;

/// <summary>
/// A model ready to run, whichever runtime executes it (ONNX Runtime here; TorchSharp in the Res2Net package), behind
/// <see cref="Predictor"/>. Inputs are normalised batches (N, <see cref="ModelMetadata.InChannels"/>, H, W) as
/// <see cref="Imaging.ImagePreprocessor"/> makes them. Implementations may be called from several threads at once, and
/// stop a pass in progress when its token is cancelled.
/// </summary>
internal interface IInferenceEngine : IDisposable
{
    /// <summary>The runtime: <see cref="EngineKind.Onnx"/> or <see cref="EngineKind.Torch"/>.</summary>
    EngineKind Kind { get; }

    /// <summary>The number format the engine computes in.</summary>
    Precision Precision { get; }

    /// <summary>What the weights are for: model, channels, classes and their names, preprocessing.</summary>
    ModelMetadata Metadata { get; }

    /// <summary>The feature outputs <see cref="Features"/> can return.</summary>
    IReadOnlyList<FeatureStage> FeatureStages { get; }

    /// <summary>The raw logits, (N, classes).</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the pass.</exception>
    FloatTensor Logits(FloatTensor batch, CancellationToken cancellationToken = default);

    /// <summary>One tensor per requested stage, in order, from one pass: (N, C) pooled, (N, C, H, W) for a stage map.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the pass.</exception>
    IReadOnlyList<FloatTensor> Features(FloatTensor batch, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default);

    /// <summary>
    /// The logits (when <paramref name="logits"/> is set) followed by one tensor per requested stage, from one pass: what
    /// a protocol request that asks for several outputs at once gets.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the pass.</exception>
    IReadOnlyList<FloatTensor> Outputs(FloatTensor batch, bool logits, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default);
}
