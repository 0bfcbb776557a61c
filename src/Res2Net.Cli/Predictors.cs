using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Cli;

/// <summary>Builds the library's predictor from command-line choices.</summary>
internal static class Predictors
{
    /// <summary>
    /// An engine for --weights (or the published weights) or --onnx, and the photo transform its metadata records,
    /// with --size and --crop-pct over it, built with --output-stride and --block-style.
    /// </summary>
    public static async Task<Predictor> LoadAsync(ModelInfo info, string? weights, int? size, double? cropPct, EngineKind engineKind,
        Precision precision, string? onnxFile, CancellationToken cancellationToken, int? outputStride = null, BlockStyle? style = null,
        IReadOnlyList<FeatureStage>? stages = null)
    {
        if (onnxFile is not null && weights is not null)
        {
            throw new InvalidOptionException("--onnx", "and --weights exclude each other (an ONNX file carries its weights)");
        }

        if (onnxFile is not null && (outputStride is not null || style is not null))
        {
            throw new InvalidOptionException("--onnx", "runs the graph as exported; give --output-stride and --block-style to 'export' instead");
        }

        // Before the weights are resolved (and perhaps downloaded): an impossible precision or stride fails at once.
        info.Configure(outputStride: outputStride, style: style);
        Precisions.Check(precision, onnxFile is null ? InferenceEngines.Resolve(engineKind, precision) : EngineKind.Onnx);
        IInferenceEngine engine = onnxFile is not null
            ? OnnxEngine.Open(onnxFile)
            : InferenceEngines.Load(ModelCheckpoint.Read(await WeightsResolver.ResolveAsync(info, weights, cancellationToken).ConfigureAwait(false), info.Name)
                .With(outputStride, style), engineKind, precision, export: EarlyStages(stages));
        try
        {
            var recorded = engine.Metadata.Preprocess;
            var preprocess = recorded with { InputSize = size ?? recorded.InputSize, CropPct = cropPct ?? recorded.CropPct };
            return new Predictor(engine, new ImagePreprocessor(preprocess, engine.Metadata.InChannels));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// For stage maps only (no pooled embedding): an ONNX export that ends after the deepest of them, since ONNX Runtime
    /// runs every node of a graph; null otherwise.
    /// </summary>
    private static OnnxExportOptions? EarlyStages(IReadOnlyList<FeatureStage>? stages) =>
        stages is { Count: > 0 } && !stages.Contains(FeatureStage.Pooled) ? new OnnxExportOptions { LastStage = stages.Max(s => (int)s) } : null;
}
