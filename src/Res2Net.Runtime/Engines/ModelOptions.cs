using Res2Net.Models;

namespace Res2Net.Engines;

/// <summary>
/// How <see cref="Predictor.OpenAsync(ModelSource, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>
/// opens a model: the engine and number format, threads, the model's form (output stride, block style), overrides of
/// its recorded preprocessing, Grad-CAM, and the cache. Every value is checked once, before anything is read.
/// </summary>
public sealed record ModelOptions
{
    private readonly IReadOnlyList<FeatureStage>? outputs;

    /// <summary>The runtime; <see cref="EngineKind.Auto"/> picks the fastest exact one for the precision.</summary>
    public EngineKind Engine { get; init; } = EngineKind.Auto;

    /// <summary>The number format; null: the source's own (float32 for weights, the file's for an ONNX file).</summary>
    public Precision? Precision { get; init; }

    /// <summary>Intra-op threads of the engine; null: one per core.</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Whether ONNX Runtime's worker threads spin while they wait for work (its default). Off, they sleep, which leaves
    /// the cores to other work of the process (photo decoding) between passes.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>8, 16 or 32 (ImageNet ResNet-style models): the total stride of the last stage; null: what the weights record.</summary>
    public int? OutputStride { get; init; }

    /// <summary>Whose form of the block to build; null: the one the checkpoint's key layout says it was trained with.</summary>
    public BlockStyle? BlockStyle { get; init; }

    /// <summary>Another network input side than the recorded one (the photo's shorter side is resized to it over <see cref="CropPct"/>).</summary>
    public int? InputSize { get; init; }

    /// <summary>Another centre-crop fraction than the recorded one (1: nothing cut away).</summary>
    public double? CropPct { get; init; }

    /// <summary>
    /// The outputs the model must give; null or empty: every output (logits, the pooled embedding and the stage maps).
    /// Stage maps alone let the ONNX engine's graph end after the deepest of them, since ONNX Runtime runs every node.
    /// </summary>
    public IReadOnlyList<FeatureStage>? Outputs
    {
        get => outputs;
        init => outputs = value is null ? null : Array.AsReadOnly(value.ToArray());
    }

    /// <summary>Also load what Grad-CAM needs (a TorchSharp copy of the model, which has gradients); checkpoints and registered models only.</summary>
    public bool GradCam { get; init; }

    /// <summary>Where weights and exports are kept, and where weights are downloaded from.</summary>
    public ModelCacheOptions Cache { get; init; } = new();

    /// <summary>Checks every value against every other and against the source, before anything is read or downloaded.</summary>
    /// <exception cref="InvalidOptionException">A value is out of range or does not apply; the exception names it.</exception>
    public void Validate(ModelSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Check(Enum.IsDefined(Engine), nameof(Engine), $"must be auto, torch or onnx (got {(int)Engine})");
        Check(Precision is null || Enum.IsDefined(Precision.Value), nameof(Precision), $"must be fp32, bf16 or int8 (got {(int?)Precision})");
        Check(Threads is null or (>= 1 and <= 1024), nameof(Threads), $"must be from 1 to 1,024 (got {Threads})");
        // Which strides a model can be built with is its family's rule (ModelConfig.Validate), checked when it is known.
        Check(OutputStride is null or (>= 1 and <= 64), nameof(OutputStride), $"must be 8, 16 or 32 (got {OutputStride})");
        Check(BlockStyle is null || Enum.IsDefined(BlockStyle.Value), nameof(BlockStyle), $"must be Official, MMDetection or Detectron2 (got {(int?)BlockStyle})");
        Check(InputSize is null or (>= 1 and <= Limits.MaxInputSide), nameof(InputSize), $"must be from 1 to {Limits.MaxInputSide} pixels (got {InputSize})");
        Check(CropPct is null || (CropPct > 0 && CropPct <= 1), nameof(CropPct), $"must be in (0, 1] (got {CropPct})");
        Cache.Validate();
        if (Precision is { } precision)
        {
            Precisions.Check(precision, Engine);
        }

        if (source.Kind == ModelSourceKind.Onnx)
        {
            // An ONNX file runs as it was exported: its form, its number format and its lack of gradients are fixed.
            Check(Engine != EngineKind.Torch, nameof(Engine), "must be onnx or auto for an ONNX file, which runs on ONNX Runtime");
            Check(OutputStride is null && BlockStyle is null, OutputStride is null ? nameof(BlockStyle) : nameof(OutputStride),
                "cannot be changed for an ONNX file, which runs as it was exported; export it again with another form");
            Check(!GradCam, nameof(GradCam), "needs a checkpoint or a registered model: an ONNX file has no gradients");
        }
    }

    private static void Check(bool ok, string option, string problem)
    {
        if (!ok)
        {
            throw new InvalidOptionException(option, problem);
        }
    }
}
