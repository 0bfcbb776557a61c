using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Models;

/// <summary>
/// Turns a <see cref="ModelSource"/> into a model: the one place that downloads published weights, reads checkpoints
/// into networks, adapts them to another class count or a one-channel stem, and initialises untrained ones. Behind
/// <see cref="Res2NetBackbone.CreateAsync"/>, the inference provider and the trainer.
/// </summary>
internal static class ModelBuilder
{
    /// <summary>Builds the model <paramref name="source"/> names, as <see cref="Res2NetBackbone.CreateAsync"/> documents.</summary>
    public static async Task<Res2NetBackbone> CreateAsync(ModelSource source, BackboneOptions options, IProgress<DownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        options.Validate();
        if (source.Kind == ModelSourceKind.Untrained)
        {
            return Untrained(source, options);
        }

        var checkpoint = await ReadAsync(source, options.Cache, progress, cancellationToken).ConfigureAwait(false);
        return FromCheckpoint(checkpoint, options);
    }

    /// <summary>
    /// The checkpoint a source names: a file, or published weights downloaded once into the cache (and recognised as
    /// such by their hash, so their metadata carries their name and license).
    /// </summary>
    /// <exception cref="InvalidOptionException">The source is an ONNX file or an untrained architecture, which have no checkpoint.</exception>
    public static async Task<ModelCheckpoint> ReadAsync(ModelSource source, ModelCacheOptions cache, IProgress<DownloadProgress>? progress,
        CancellationToken cancellationToken) =>
        source.Kind switch
        {
            ModelSourceKind.Checkpoint => ModelCheckpoint.Read(source.Location, source.Model),
            ModelSourceKind.Pretrained => ModelCheckpoint.Read(await DownloadAsync(source, cache, progress, cancellationToken).ConfigureAwait(false),
                ModelRegistry.GetPretrained(source.Location).Model.Name),
            _ => throw new InvalidOptionException("Source", $"{source} holds no weights to build a network from: "
                + (source.Kind == ModelSourceKind.Onnx ? "an ONNX file runs as it is; build from its checkpoint instead" : "it is untrained")),
        };

    /// <summary>The local file of a source's weights: the checkpoint's path, or the published file, downloaded first if needed.</summary>
    public static async Task<string> DownloadAsync(ModelSource source, ModelCacheOptions cache, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        if (source.Kind != ModelSourceKind.Pretrained)
        {
            return source.Location;
        }

        var (info, weights) = ModelRegistry.GetPretrained(source.Location);
        using var weightsCache = new WeightsCache(cache);
        return await weightsCache.GetAsync(weights, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The checkpoint's network in the options' form: as the weights are, or with another class count (a freshly
    /// initialised classifier) or a one-channel stem summed from RGB filters, the rest loaded strictly.
    /// </summary>
    /// <exception cref="InvalidOptionException">The options ask for a form the weights cannot be adapted to.</exception>
    public static Res2NetBackbone FromCheckpoint(ModelCheckpoint checkpoint, BackboneOptions options)
    {
        checkpoint = checkpoint.With(options.OutputStride, options.BlockStyle);
        var recorded = checkpoint.Metadata;
        var classes = options.NumClasses ?? recorded.NumClasses;
        var channels = options.InChannels ?? recorded.InChannels;
        if (classes == recorded.NumClasses && channels == recorded.InChannels)
        {
            return checkpoint.CreateModel();
        }

        if (channels != recorded.InChannels && !(channels == 1 && recorded.InChannels == 3))
        {
            throw new InvalidOptionException(nameof(BackboneOptions.InChannels),
                $"must be {recorded.InChannels}, as the weights' stem, or 1 (the RGB filters summed over colour) for {checkpoint.Path} (got {channels})");
        }

        var model = Initialized(checkpoint.Model.Configure(classes, channels, checkpoint.OutputStride, checkpoint.Style), options.Seed);
        try
        {
            var tensors = checkpoint.StateDict;
            if (channels == 1 && recorded.InChannels == 3)
            {
                // A 1-channel stem from RGB filters: their sum over colour sees a gray image as the RGB model saw it.
                var adapted = new Dictionary<string, TensorData>(tensors);
                var targetShapes = ModelWeights.StateDict(model).ToDictionary(e => e.Key, e => e.Value.shape);
                foreach (var (key, t) in tensors)
                {
                    if (t.Shape.Length == 4 && t.Shape[1] == 3 && targetShapes.TryGetValue(key, out var s) && s.Length == 4 && s[1] == 1)
                    {
                        using var w = t.ToTensor();
                        using var summed = w.sum(1, keepdim: true);
                        adapted[key] = summed.ToTensorData();
                    }
                }

                tensors = adapted;
            }

            ModelWeights.Load(model, tensors, Path.GetFileName(checkpoint.Path), new LoadOptions { SkipMismatchedClassifier = true });
            model.Describe(recorded with
            {
                NumClasses = classes,
                InChannels = channels,
                ClassNames = classes == recorded.NumClasses ? recorded.ClassNames : [],
                Preprocess = recorded.Preprocess.ForChannels(channels),
            });
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A registered architecture, or a configuration of one's own, with freshly initialised weights.</summary>
    public static Res2NetBackbone Untrained(ModelSource source, BackboneOptions options)
    {
        var info = source.Config is null ? ModelRegistry.Get(source.Location) : null;
        var config = (info?.Config ?? source.Config!).With(options.NumClasses, options.InChannels, options.OutputStride, options.BlockStyle);
        var model = Initialized(config, options.Seed);
        var metadata = info?.DefaultMetadata(config.NumClasses, config.InChannels) ?? new ModelMetadata
        {
            Model = config.GetType().Name,
            InChannels = config.InChannels,
            NumClasses = config.NumClasses,
            ClassNames = ImageNetLabels.For(config.NumClasses),
            Preprocess = Imaging.PreprocessConfig.ImageNet.ForChannels(config.InChannels),
        };
        model.Describe(metadata with { OutputStride = config.OutputStride });
        return model;
    }

    /// <summary>The network with the official initialisation, every draw from a private generator when seeded.</summary>
    private static Res2NetBackbone Initialized(ModelConfig config, int? seed)
    {
        var model = ModelFamilies.Network(config);
        if (seed is { } s)
        {
            // A private generator: the global one may be drawn from by other threads between seeding and use.
            using var generator = new Generator((ulong)(uint)s);
            model.InitializeWeights(generator);
        }
        else
        {
            model.InitializeWeights();
        }

        return model;
    }
}
