using Res2Net.Caching;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Engines;

/// <summary>Opens a checkpoint on the engine asked for (or the best one), so every caller takes the same path.</summary>
public static class InferenceEngines
{
    /// <summary>Parses an engine name: auto, torch or onnx.</summary>
    public static EngineKind Parse(string name) => name?.ToLowerInvariant() switch
    {
        "auto" => EngineKind.Auto,
        "torch" => EngineKind.Torch,
        "onnx" => EngineKind.Onnx,
        _ => throw new InvalidOptionException("Engine", $"must be auto, torch or onnx (got '{name}')"),
    };

    /// <summary>The engine <see cref="EngineKind.Auto"/> stands for with this precision: ONNX Runtime for float32, TorchSharp for bfloat16.</summary>
    public static EngineKind Resolve(EngineKind kind, Precision precision) =>
        kind != EngineKind.Auto ? kind : precision == Precision.Float32 ? EngineKind.Onnx : EngineKind.Torch;

    /// <summary>Opens a checkpoint on an engine.</summary>
    /// <param name="weightsPath">The checkpoint (see <see cref="ModelCheckpoint"/>).</param>
    /// <param name="modelName">The registered model it is for; null: the one the file records or its shapes fit.</param>
    /// <param name="kind">The runtime; <see cref="EngineKind.Auto"/> picks the fastest exact one.</param>
    /// <param name="precision">The number format (bfloat16 on the torch engine only).</param>
    /// <param name="onnx">ONNX Runtime's settings.</param>
    /// <param name="exports">Where ONNX exports are cached; null: beside the weights, else in the cache folder.</param>
    public static IInferenceEngine Load(string weightsPath, string? modelName = null, EngineKind kind = EngineKind.Auto,
        Precision precision = Precision.Float32, OnnxEngineOptions? onnx = null, OnnxExportCache? exports = null)
    {
        Precisions.Check(precision, Resolve(kind, precision));
        return Load(ModelCheckpoint.Read(weightsPath, modelName), kind, precision, onnx, exports);
    }

    /// <summary>
    /// Opens a checkpoint already read (for example <c>ModelCheckpoint.Read(path).With(outputStride: 16)</c> for dense
    /// features) into the engine <paramref name="kind"/> resolves to.
    /// </summary>
    /// <param name="checkpoint">The weights, with the output stride and block style to build.</param>
    /// <param name="kind">The runtime; <see cref="EngineKind.Auto"/> picks the fastest exact one.</param>
    /// <param name="precision">The number format (bfloat16 on the torch engine only).</param>
    /// <param name="onnx">ONNX Runtime's settings.</param>
    /// <param name="exports">Where ONNX exports are cached; null: beside the weights, else in the cache folder.</param>
    /// <param name="export">
    /// How the ONNX engine's graph is exported, for example with <see cref="OnnxExportOptions.LastStage"/> when only early
    /// stages are wanted; null: the whole model, every output.
    /// </param>
    public static IInferenceEngine Load(ModelCheckpoint checkpoint, EngineKind kind = EngineKind.Auto, Precision precision = Precision.Float32,
        OnnxEngineOptions? onnx = null, OnnxExportCache? exports = null, OnnxExportOptions? export = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var resolved = Resolve(kind, precision);
        Precisions.Check(precision, resolved);
        return resolved == EngineKind.Onnx
            ? (exports ?? new OnnxExportCache()).OpenEngine(checkpoint, onnx, export)
            : FromModel(checkpoint.CreateModel(), EngineKind.Torch, precision);
    }

    /// <summary>An engine over a model already in memory, which it takes over (the ONNX engine exports it without caching).</summary>
    public static IInferenceEngine FromModel(Res2NetBackbone model, EngineKind kind = EngineKind.Auto, Precision precision = Precision.Float32,
        OnnxEngineOptions? onnx = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var resolved = Resolve(kind, precision);
        try
        {
            Precisions.Check(precision, resolved);
            return resolved == EngineKind.Onnx ? OnnxExportCache.InMemory(model, onnx) : new TorchEngine(model, precision);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
