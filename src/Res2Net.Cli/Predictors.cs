using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Cli;

/// <summary>Builds the library's predictor and preprocessing from command-line choices.</summary>
internal static class Predictors
{
    public static Predictor Load(ModelInfo info, string? weights, int? size, double? cropPct, EngineKind engineKind = EngineKind.Torch,
        Precision precision = Precision.Float32, string? onnxFile = null)
    {
        if (onnxFile is not null && weights is not null)
        {
            throw new ArgumentException("--onnx and --weights exclude each other (an ONNX file carries its weights).");
        }

        // Before the weights are resolved (and perhaps downloaded): an impossible precision fails at once.
        Precisions.Check(precision, onnxFile is null ? engineKind : EngineKind.Onnx);
        IInferenceEngine engine = onnxFile is not null
            ? OnnxEngine.FromFile(onnxFile)
            : InferenceEngines.Load(engineKind, info.Name, WeightsResolver.Resolve(info, weights), precision: precision);

        // An ONNX file exported at a fixed size gets its photos preprocessed to that size.
        size ??= (engine as OnnxEngine)?.FixedInputSize;
        try
        {
            return new Predictor(engine, Preprocessor(info, size, cropPct, engine.InChannels));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>The model's preprocessing with the user's size and crop, for the channels the loaded weights take.</summary>
    public static ImagePreprocessor Preprocessor(ModelInfo info, int? size, double? cropPct, int channels)
    {
        var preprocess = info.Preprocess with
        {
            InputSize = size ?? info.Preprocess.InputSize,
            CropPct = cropPct ?? info.Preprocess.CropPct,
        };
        if (preprocess.Mean.Length != channels)
        {
            // An RGB-normalised registry entry used with a 1-channel model: luminance gets the channels' mean.
            preprocess = preprocess with { Mean = [preprocess.Mean.Average()], Std = [preprocess.Std.Average()] };
        }

        return new ImagePreprocessor(preprocess, channels);
    }
}
