using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Tests;

/// <summary>Engines and predictors over models the tests build themselves (fixture configurations no registry has).</summary>
internal static class TestEngines
{
    /// <summary>An engine over a model in memory, which it takes over (the ONNX engine exports it without caching).</summary>
    public static IInferenceEngine FromModel(Res2NetBackbone model, EngineKind kind = EngineKind.Onnx, Precision precision = Precision.Float32)
    {
        Precisions.Check(precision, kind);
        return Precisions.Resolve(kind, precision) == EngineKind.Onnx ? OnnxExportCache.InMemory(model, new ModelOptions()) : new TorchEngine(model, precision);
    }

    /// <summary>A predictor over an engine, with the preprocessing its metadata records.</summary>
    public static Predictor Predictor(IInferenceEngine engine, PreprocessConfig? preprocess = null) =>
        new(engine, new ImagePreprocessor(preprocess ?? engine.Metadata.Preprocess, engine.Metadata.InChannels));

    /// <summary>The one door, waited for (tests are synchronous where they can be).</summary>
    public static Predictor Open(ModelSource source, ModelOptions? options = null) =>
        Res2Net.Engines.Predictor.OpenAsync(source, options).GetAwaiter().GetResult();
}
