using Res2Net.Engines;
using Res2Net.IO;
using Res2Net.Models;

namespace Res2Net.Weights;

/// <summary>
/// A checkpoint read and understood: which registered model its tensors are for, with how many classes and input
/// channels, and what the weights are for (<see cref="ModelMetadata"/>, as the file records it or, for files from
/// elsewhere, inferred from its shapes, from its hash when it is a published file, and from a <c>classes.txt</c> beside
/// it). The one path from a checkpoint file to a model, behind <see cref="Res2NetBackbone.CreateAsync"/> and
/// <see cref="Predictor.OpenAsync(ModelSource, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>:
/// shapes are checked against the registered model before any model is built, so a file cannot make the library
/// allocate what its own data does not hold. <see cref="Inspect"/> describes a file that fits no model.
/// </summary>
public sealed class ModelCheckpoint
{
    private ModelCheckpoint(string path, ModelInfo model, ModelMetadata metadata, bool recorded, IReadOnlyDictionary<string, TensorData> stateDict,
        CheckpointLayout layout, BlockStyle? style = null)
    {
        Layout = layout;
        Style = style ?? layout switch
        {
            CheckpointLayout.MMDetection => BlockStyle.MMDetection,
            CheckpointLayout.Detectron2 => BlockStyle.Detectron2,
            _ => BlockStyle.Official,
        };
        Path = path;
        Model = model;
        Metadata = metadata;
        MetadataRecorded = recorded;
        StateDict = stateDict;
    }

    private static long reads;

    /// <summary>Checkpoints parsed so far in this process (the warm path's tests count them: a cached export parses none).</summary>
    internal static long Reads => Interlocked.Read(ref reads);

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The registered model the tensors are for.</summary>
    public ModelInfo Model { get; }

    /// <summary>What the weights are for: classes and their names, input channels, preprocessing, origin and license.</summary>
    public ModelMetadata Metadata { get; }

    /// <summary>Whether the file recorded <see cref="Metadata"/> (written by this library) rather than it being inferred.</summary>
    public bool MetadataRecorded { get; }

    /// <summary>The tensors, under the official keys (whatever layout the file used).</summary>
    public IReadOnlyDictionary<string, TensorData> StateDict { get; }

    /// <summary>The key layout the file was saved in (official, mmdetection's, detectron2's).</summary>
    public CheckpointLayout Layout { get; }

    /// <summary>
    /// The blocks <see cref="CreateModel()"/> builds: by default those the weights were trained with (mmdetection's and
    /// detectron2's checkpoints come from their own forms of the block, see <see cref="BlockStyle"/>; everything else
    /// from the official one).
    /// </summary>
    public BlockStyle Style { get; }

    /// <summary>The output stride <see cref="CreateModel()"/> builds with: by default the one the metadata records (32 for the ImageNet models).</summary>
    public int OutputStride => Metadata.OutputStride;

    /// <summary>The same checkpoint, built with another output stride (8, 16 or 32, ImageNet ResNet-style models) or block style.</summary>
    /// <exception cref="InvalidOptionException">The model's family has no such form; checked before anything is built.</exception>
    internal ModelCheckpoint With(int? outputStride = null, BlockStyle? style = null)
    {
        var config = Model.Configure(Metadata.NumClasses, Metadata.InChannels, outputStride ?? OutputStride, style ?? Style);
        return new ModelCheckpoint(Path, Model, Metadata with { OutputStride = config.OutputStride }, MetadataRecorded, StateDict, Layout, config.Style);
    }

    /// <summary>
    /// Reads a checkpoint (zip or legacy .pth, or .safetensors). <paramref name="modelName"/> names the registered model
    /// the caller expects (any alias); null takes the model the file records, else the one its shapes fit.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file cannot be read.</exception>
    /// <exception cref="WeightsMismatchException">The tensors do not fit the model (named, recorded or any).</exception>
    /// <exception cref="UnknownModelException"><paramref name="modelName"/> is not registered.</exception>
    public static ModelCheckpoint Read(string path, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Interlocked.Increment(ref reads);
        var name = System.IO.Path.GetFileName(path);
        var (layout, tensors) = CheckpointLayouts.ToOfficial(CheckpointFile.ReadStateDict(path, out var json), name);
        var recorded = json is null ? null : ModelMetadata.FromJson(json, name);
        var info = Resolve(name, tensors, recorded, modelName);
        var (classes, channels) = recorded is not null ? (recorded.NumClasses, recorded.InChannels) : ModelWeights.Infer(info, tensors, name);

        // Every key and shape against the model's signature, before anything is allocated.
        ModelWeights.Check(ModelWeights.Shapes(info, classes, channels), ModelWeights.ClassifierKeys(info), tensors, LoadOptions.Default, () => info.Name, classes, name);

        var metadata = recorded is not null ? recorded with { Model = info.Name }
            : Published(path, info, classes, channels) is { } published ? info.MetadataOf(published)
            : info.DefaultMetadata(classes, channels);
        if (metadata.ClassNames.Count == 0 && classes > 0)
        {
            // Not recorded (a file from elsewhere, or saved without names): a classes.txt beside the file may have them.
            metadata = metadata with { ClassNames = ImageNetLabels.For(classes, path) };
        }

        return new ModelCheckpoint(path, info, metadata, recorded is not null, tensors, layout);
    }

    /// <summary>
    /// Describes a checkpoint without requiring that it fits a model: its container, key layout, tensors, and the
    /// registered models its shapes fit.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file cannot be read.</exception>
    public static CheckpointInfo Inspect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var container = CheckpointFile.Detect(path);
        var tensors = CheckpointFile.ReadStateDict(path);
        var (layout, official) = CheckpointLayouts.ToOfficial(tensors, System.IO.Path.GetFileName(path));
        var statistics = new[] { "num_batches_tracked", "running_mean", "running_var" };
        return new CheckpointInfo
        {
            Path = path,
            Container = container switch
            {
                CheckpointContainer.PyTorchZip => "pytorch-zip",
                CheckpointContainer.PyTorchLegacy => "pytorch-legacy",
                _ => "safetensors",
            },
            Layout = layout,
            TensorCount = tensors.Count,
            OfficialTensorCount = official.Count,
            DTypeCounts = tensors.Values.GroupBy(t => t.DType).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
            Bytes = tensors.Values.Sum(t => (long)t.Data.Length),
            Parameters = tensors.Where(t => !statistics.Any(s => t.Key.EndsWith(s, StringComparison.Ordinal))).Sum(t => t.Value.NumElements),
            Fits = [.. ModelWeights.FindMatchingModels(official).Select(m => (m.Model.Name, m.NumClasses))],
        };
    }

    /// <summary>
    /// The local path of published weights (<c>name</c> or <c>name.tag</c>, see <see cref="ModelRegistry.GetPretrained"/>),
    /// downloaded first into the cache if needed and checked against the published hash.
    /// </summary>
    /// <exception cref="UnknownModelException">No such model or weights.</exception>
    /// <exception cref="Caching.WeightsDownloadException">The download failed or was refused; nothing is left behind.</exception>
    public static async Task<string> DownloadAsync(string name, ModelCacheOptions? cache = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var (info, weights) = ModelRegistry.GetPretrained(name);
        using var weightsCache = new Caching.WeightsCache(cache ?? new ModelCacheOptions());
        return await weightsCache.GetAsync(weights, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Builds the model (with <see cref="OutputStride"/> and <see cref="Style"/>) and loads the weights strictly, with the
    /// metadata. The network is not initialised first: every weight is overwritten. (Outside this library,
    /// <see cref="Res2NetBackbone.CreateAsync"/> is the one way to a model.)
    /// </summary>
    internal Res2NetBackbone CreateModel() => CreateModel(LoadOptions.Default);

    internal Res2NetBackbone CreateModel(LoadOptions options)
    {
        var model = ModelFamilies.Network(Model.Configure(Metadata.NumClasses, Metadata.InChannels, OutputStride, Style));
        try
        {
            ModelWeights.Load(model, StateDict, System.IO.Path.GetFileName(Path), options);
            model.Describe(Metadata);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The published weights this file is, when it records nothing of itself but has their shapes and their hash (the
    /// official .pth files); the hash is read once per process.
    /// </summary>
    private static PretrainedConfig? Published(string path, ModelInfo info, int classes, int channels) =>
        Published(path, info.Pretrained.Where(p => p.NumClasses == classes && channels == info.Config.InChannels).ToList());

    /// <summary>The one of <paramref name="candidates"/> whose published hash the file has, if any (none: not hashed).</summary>
    internal static PretrainedConfig? Published(string path, IReadOnlyList<PretrainedConfig> candidates)
    {
        if (candidates.Count == 0)
        {
            return null;
        }

        var hash = FileHashes.Sha256(path, "checkpoint");
        return candidates.FirstOrDefault(p => hash.StartsWith(p.Sha256Prefix, StringComparison.Ordinal));
    }

    private static ModelInfo Resolve(string name, IReadOnlyDictionary<string, TensorData> tensors, ModelMetadata? recorded, string? modelName)
    {
        if (modelName is not null)
        {
            var asked = ModelRegistry.Get(modelName);
            if (recorded is not null && ModelRegistry.TryGet(recorded.Model, out var saved) && saved.Name != asked.Name)
            {
                throw new WeightsMismatchException($"{name} holds weights of {saved.Name}, not {asked.Name}.");
            }

            return asked;
        }

        if (recorded is not null)
        {
            return ModelRegistry.TryGet(recorded.Model, out var saved) ? saved
                : throw new WeightsMismatchException($"{name} records model '{recorded.Model}', which is not registered here.");
        }

        var fits = ModelWeights.FindMatchingModels(tensors);
        return fits.Count > 0 ? fits[0].Model
            : throw new WeightsMismatchException($"{name}: its tensors fit no registered model; name the model it is for.");
    }
}
