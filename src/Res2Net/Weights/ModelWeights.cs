using System.Collections.Concurrent;
using Res2Net.Models;
using static TorchSharp.torch;

namespace Res2Net.Weights;

/// <summary>Reads and writes a model's weights in PyTorch's key layout.</summary>
internal static class ModelWeights
{
    /// <summary>The model's state dict in PyTorch's order: per module its parameters, then its buffers, then its children.</summary>
    public static List<KeyValuePair<string, Tensor>> StateDict(nn.Module model)
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        Collect(model, string.Empty, entries);
        return entries;
    }

    /// <summary>
    /// Reads a checkpoint file (any supported container, any <see cref="CheckpointLayout"/>) into a network built from a
    /// configuration of one's own; when the file records its metadata, the model takes its class names and transform.
    /// </summary>
    public static void Load(Res2NetBackbone model, string path, LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var name = Path.GetFileName(path);
        var (_, checkpoint) = CheckpointLayouts.ToOfficial(CheckpointFile.ReadStateDict(path, out var json), name);
        Load(model, checkpoint, name, options);
        if (json is not null)
        {
            model.Describe(ModelMetadata.FromJson(json, name));
        }
    }

    /// <summary>Copies a state dict into the model; throws <see cref="WeightsMismatchException"/> with one sentence on a mismatch.</summary>
    public static void Load(Res2NetBackbone model, IReadOnlyDictionary<string, TensorData> checkpoint, string source, LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        options ??= LoadOptions.Default;
        var target = StateDict(model);
        var skipped = Check(target.Select(e => KeyValuePair.Create(e.Key, e.Value.shape)).ToList(), model.ClassifierKeys, checkpoint, options,
            () => model.ModelName ?? "the model", model.Config.NumClasses, source);

        using var noGrad = no_grad();
        foreach (var (key, tensor) in target)
        {
            if (skipped.Contains(key) || !checkpoint.TryGetValue(key, out var data))
            {
                continue;
            }

            using var value = data.ToTensor();
            tensor.copy_(value);
        }

        // A prepared inference plan holds folded copies of the old weights.
        model.RefreshInference();
    }

    /// <summary>
    /// Writes the model's state dict; the container follows the extension (.pth/.pt/.bin/.ckpt or .safetensors). A
    /// <see cref="Res2NetBackbone"/>'s <see cref="Res2NetBackbone.Metadata"/> goes into the file too.
    /// </summary>
    internal static void Save(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckpointFile.Write(path, StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.ToTensorData())),
            (model as Res2NetBackbone)?.Metadata.ToJson());
    }

    /// <summary>
    /// Compares a checkpoint with a model's keys and shapes (<paramref name="target"/>, in state-dict order) and throws
    /// <see cref="WeightsMismatchException"/> on a mismatch; returns the classifier keys to leave out when
    /// <see cref="LoadOptions.SkipMismatchedClassifier"/> allows it. Needs only shapes, so it runs before a model exists.
    /// </summary>
    internal static HashSet<string> Check(IReadOnlyList<KeyValuePair<string, long[]>> target, IReadOnlyList<string> classifierKeys,
        IReadOnlyDictionary<string, TensorData> checkpoint, LoadOptions options, Func<string> modelName, int modelClasses, string source)
    {
        var classifier = classifierKeys.ToHashSet();
        var missing = new List<string>();
        var wrongShape = new List<string>();
        var skipped = new HashSet<string>();
        foreach (var (key, shape) in target)
        {
            if (!checkpoint.TryGetValue(key, out var data))
            {
                missing.Add(key);
            }
            else if (!data.Shape.SequenceEqual(shape))
            {
                if (options.SkipMismatchedClassifier && classifier.Contains(key))
                {
                    skipped.Add(key);
                }
                else
                {
                    wrongShape.Add($"{key} is {Shape(data.Shape)} in the checkpoint but {Shape(shape)} in the model");
                }
            }
        }

        var targetKeys = target.Select(e => e.Key).ToHashSet();
        var unexpected = checkpoint.Keys.Where(k => !targetKeys.Contains(k)).ToList();
        if (wrongShape.Count > 0 || (options.Strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            throw new WeightsMismatchException(DescribeMismatch(modelName(), modelClasses, checkpoint, source, missing, unexpected, wrongShape));
        }

        return skipped;
    }

    /// <summary>
    /// The class count and input channels a checkpoint that records no metadata has for <paramref name="info"/>: its
    /// classifier's rows (0 when it has none) and its stem convolution's input channels (the model's own when it has
    /// none); the one place both are read from tensors.
    /// </summary>
    /// <exception cref="WeightsMismatchException">Either is out of the range a model may have.</exception>
    internal static (int Classes, int Channels) Infer(ModelInfo info, IReadOnlyDictionary<string, TensorData> checkpoint, string source)
    {
        if (TryInfer(info, checkpoint) is { } fits)
        {
            return fits;
        }

        var signature = Signature(info);
        var classes = checkpoint.TryGetValue(signature.Classifier[0], out var fc) && fc.Shape.Length > 0 ? fc.Shape[0] : 0;
        throw new WeightsMismatchException(classes > Limits.MaxClasses
            ? $"{source}: its classifier has {classes:N0} classes, more than the {Limits.MaxClasses:N0} a model may have."
            : $"{source}: its stem takes {checkpoint[signature.StemKey].Shape[1]} input channels; a model takes 1 to {Limits.MaxInChannels}.");
    }

    /// <summary>The registered models whose state dict has exactly these keys and shapes, with the classes their classifier has.</summary>
    internal static IReadOnlyList<(ModelInfo Model, int NumClasses)> FindMatchingModels(IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var matches = new List<(ModelInfo, int)>();
        foreach (var info in ModelRegistry.All)
        {
            if (TryInfer(info, checkpoint) is not var (classes, channels))
            {
                continue;
            }

            var target = Shapes(info, classes, channels);
            if (target.Count == checkpoint.Count && target.All(e => checkpoint.TryGetValue(e.Key, out var d) && d.Shape.SequenceEqual(e.Value)))
            {
                matches.Add((info, classes));
            }
        }

        return matches;
    }

    /// <summary>
    /// The bytes of a registered model's state dict in float32 (batch counts in int64), as a published checkpoint of it
    /// holds them: with <see cref="Limits.DownloadOverheadBytes"/>, the largest such a file can honestly be.
    /// </summary>
    internal static long StateDictBytes(ModelInfo info, int numClasses) =>
        Shapes(info, numClasses, info.Config.InChannels).Sum(e => TensorData.CountElements(e.Value) * (e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? 8 : 4));

    private static (int Classes, int Channels)? TryInfer(ModelInfo info, IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        var signature = Signature(info);
        var classes = checkpoint.TryGetValue(signature.Classifier[0], out var fc) && fc.Shape.Length > 0 ? fc.Shape[0] : 0;
        var channels = checkpoint.TryGetValue(signature.StemKey, out var w) && w.Shape.Length == 4 ? w.Shape[1] : info.Config.InChannels;
        return classes is >= 0 and <= Limits.MaxClasses && channels is >= 1 and <= Limits.MaxInChannels ? ((int)classes, (int)channels) : null;
    }

    /// <summary>
    /// Key names and shapes of a registered model with <paramref name="numClasses"/> classes and
    /// <paramref name="inChannels"/> input channels, in state-dict order, without building it.
    /// </summary>
    internal static List<KeyValuePair<string, long[]>> Shapes(ModelInfo info, int numClasses, int inChannels)
    {
        var signature = Signature(info);
        var result = new List<KeyValuePair<string, long[]>>(signature.Shapes.Count);
        foreach (var (key, shape) in signature.Shapes)
        {
            if (signature.Classifier.Contains(key))
            {
                if (numClasses > 0)
                {
                    result.Add(KeyValuePair.Create(key, (long[])[numClasses, .. shape[1..]]));
                }
            }
            else if (key == signature.StemKey)
            {
                result.Add(KeyValuePair.Create(key, (long[])[shape[0], inChannels, .. shape[2..]]));
            }
            else
            {
                result.Add(KeyValuePair.Create(key, shape));
            }
        }

        return result;
    }

    /// <summary>The classifier's keys in a registered model's state dict (weight first).</summary>
    internal static IReadOnlyList<string> ClassifierKeys(ModelInfo info) => Signature(info).Classifier;

    private static readonly ConcurrentDictionary<string, ModelSignature> Signatures = new();

    private sealed record ModelSignature(List<KeyValuePair<string, long[]>> Shapes, IReadOnlyList<string> Classifier, string StemKey);

    /// <summary>
    /// Key names and shapes of a registered model, built once on LibTorch's meta device: shapes without memory or
    /// initialisation, so matching a checkpoint against every model takes milliseconds instead of seconds.
    /// </summary>
    private static ModelSignature Signature(ModelInfo info) =>
        Signatures.GetOrAdd(info.Name, _ =>
        {
            using var meta = Layers.On(META);
            using var model = ModelFamilies.Network(info.Config);
            var shapes = StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.shape)).ToList();
            return new ModelSignature(shapes, model.ClassifierKeys, shapes.First(e => e.Value.Length == 4).Key);
        });

    private static string DescribeMismatch(string name, int modelClasses, IReadOnlyDictionary<string, TensorData> checkpoint, string source,
        List<string> missing, List<string> unexpected, List<string> wrongShape)
    {
        var parts = new List<string>();
        if (missing.Count > 0)
        {
            parts.Add($"{missing.Count} missing key{Plural(missing.Count)} ({List(missing)})");
        }

        if (unexpected.Count > 0)
        {
            parts.Add($"{unexpected.Count} unexpected key{Plural(unexpected.Count)} ({List(unexpected)})");
        }

        if (wrongShape.Count > 0)
        {
            parts.Add($"{wrongShape.Count} wrongly shaped ({List(wrongShape)})");
        }

        var hint = string.Empty;
        var fits = FindMatchingModels(checkpoint);
        if (fits.Count > 0)
        {
            var (info, classes) = fits[0];
            hint = classes == info.Config.NumClasses || info.Name == name
                ? $"; its shapes fit {info.Name}" + (classes != modelClasses ? $" with {classes} classes" : string.Empty)
                : $"; its shapes fit {info.Name} with {classes} classes";
        }

        return $"{source} does not fit {name}: {string.Join(", ", parts)}{hint}.";
    }

    private static string List(List<string> items) =>
        string.Join(", ", items.Take(3)) + (items.Count > 3 ? $" and {items.Count - 3} more" : string.Empty);

    private static string Plural(int n) => n == 1 ? string.Empty : "s";

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static void Collect(nn.Module module, string prefix, List<KeyValuePair<string, Tensor>> entries)
    {
        foreach (var (name, p) in module.named_parameters(recurse: false))
        {
            entries.Add(KeyValuePair.Create(prefix + name, (Tensor)p));
        }

        foreach (var (name, b) in module.named_buffers(recurse: false, include_nonpersistent: false))
        {
            entries.Add(KeyValuePair.Create(prefix + name, b));
        }

        foreach (var (name, child) in module.named_children())
        {
            Collect(child, prefix + name + ".", entries);
        }
    }
}
