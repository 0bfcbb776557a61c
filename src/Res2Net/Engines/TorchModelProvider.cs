using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;

[assembly: ModelProvider(typeof(TorchModelProvider))]

namespace Res2Net.Engines;

/// <summary>
/// What <see cref="Predictor.OpenAsync(ModelSource, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>
/// asks of this package: registered models (published weights, downloaded once), checkpoints and untrained
/// architectures, on the engine the options resolve to. On ONNX Runtime a checkpoint runs on exports made on first use
/// and cached (<see cref="OnnxExportCache"/>: with a cached export the checkpoint is only hashed, not parsed); on
/// TorchSharp it is read into the model. Grad-CAM gets its own TorchSharp copy.
/// </summary>
internal sealed class TorchModelProvider : IModelProvider
{
    /// <inheritdoc/>
    public async Task<OpenedModel> OpenAsync(ModelSource source, ModelOptions options, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var precision = options.Precision ?? Precision.Float32;
        var kind = Precisions.Resolve(options.Engine, precision);
        if (precision == Precision.Int8)
        {
            throw new InvalidOptionException(nameof(ModelOptions.Precision), $"int8 needs an INT8 ONNX file for {source}; write one with res2net export --int8");
        }

        var export = EarlyStages(options.Outputs);
        var backbone = new BackboneOptions { OutputStride = options.OutputStride, BlockStyle = options.BlockStyle, Cache = options.Cache };
        if (source.Kind == ModelSourceKind.Untrained)
        {
            var fresh = ModelBuilder.Untrained(source, backbone);
            var explainer = options.GradCam ? Explainer(ModelBuilder.Untrained(source, backbone), options) : null;
            return new OpenedModel(kind == EngineKind.Onnx ? ExportedOnce(fresh, options, export) : Engine(fresh, kind, precision, options, export), explainer);
        }

        var modelName = source.Kind == ModelSourceKind.Pretrained ? ModelRegistry.GetPretrained(source.Location).Model.Name : source.Model;
        if (modelName is not null)
        {
            // The family's rules before any download or read: a DLA model at output stride 8 fails at once.
            ModelRegistry.Get(modelName).Configure(outputStride: options.OutputStride, style: options.BlockStyle);
        }

        var path = await ModelBuilder.DownloadAsync(source, options.Cache, progress, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (kind == EngineKind.Onnx && !options.GradCam)
        {
            // The warm path: the checkpoint is hashed, and parsed only if no export of it is cached yet.
            var onnx = new OnnxExportCache(options.Cache).Open(path, modelName, options.OutputStride, options.BlockStyle, export ?? new OnnxExportOptions(), options);
            return new OpenedModel(onnx, null);
        }

        var checkpoint = ModelCheckpoint.Read(path, modelName).With(options.OutputStride, options.BlockStyle);
        var engine = kind == EngineKind.Onnx
            ? new OnnxExportCache(options.Cache).Open(path, modelName, options.OutputStride, options.BlockStyle, export ?? new OnnxExportOptions(), options)
            : Engine(checkpoint.CreateModel(), kind, precision, options, export);
        try
        {
            return new OpenedModel(engine, options.GradCam ? Explainer(checkpoint.CreateModel(), options) : null);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Grad-CAM over a model of its own (which it takes over), at the options' input size: the map covers the whole photo, so no crop applies.</summary>
    private static GradCamExplainer Explainer(Res2NetBackbone model, ModelOptions options)
    {
        var preprocess = model.Metadata.Preprocess;
        return new GradCamExplainer(model, preprocess with { InputSize = options.InputSize ?? preprocess.InputSize });
    }

    /// <summary>
    /// Fresh weights on ONNX Runtime, for timing: exported once at the input size (the options', else the model's), in
    /// memory, and the TorchSharp copy let go of before ONNX Runtime loads it, so that what is measured is ONNX Runtime's.
    /// </summary>
    private static OnnxEngine ExportedOnce(Res2NetBackbone model, ModelOptions options, OnnxExportOptions? export)
    {
        byte[] bytes;
        using (model)
        {
            model.eval();
            bytes = OnnxExporter.ExportBytes(model, (export ?? new OnnxExportOptions()) with { Size = options.InputSize ?? model.Metadata.Preprocess.InputSize });
        }

        NativeMemory.ReturnFreedMemory();
        return OnnxEngine.FromBytes(bytes, options, source: "an untrained model");
    }

    /// <summary>An engine over a model in memory, which it takes over (the ONNX engine exports it without caching).</summary>
    private static IInferenceEngine Engine(Res2NetBackbone model, EngineKind kind, Precision precision, ModelOptions options, OnnxExportOptions? export)
    {
        try
        {
            if (kind == EngineKind.Torch && options.Threads is { } threads)
            {
                // LibTorch's intra-op pool is the process's: the last engine opened sets it.
                TorchSharp.torch.set_num_threads(threads);
            }

            return kind == EngineKind.Onnx ? OnnxExportCache.InMemory(model, options, export) : new TorchEngine(model, precision);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// For stage maps only (no pooled embedding, no logits): an ONNX export that ends after the deepest of them, since
    /// ONNX Runtime runs every node of a graph; null otherwise.
    /// </summary>
    private static OnnxExportOptions? EarlyStages(IReadOnlyList<FeatureStage>? outputs) =>
        outputs is { Count: > 0 } && !outputs.Contains(FeatureStage.Pooled) ? new OnnxExportOptions { LastStage = outputs.Max(s => (int)s) } : null;
}
