using System.Collections.Concurrent;
using Res2Net.Models;
using static TorchSharp.torch;

namespace Res2Net.Weights;

/// <summary>Reads and writes a model's weights in PyTorch's key layout.</summary>
public static class ModelWeights
{
    /// <summary>The model's state dict in PyTorch's order: per module its parameters, then its buffers, then its children.</summary>
    public static List<KeyValuePair<string, Tensor>> StateDict(nn.Module model)
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        Collect(model, string.Empty, entries);
        return entries;
    }

    /// <summary>
    /// Reads a checkpoint file (any supported container, any <see cref="CheckpointLayout"/>) into the model. When the file records its
    /// <see cref="ModelMetadata"/>, the model takes its class names and preprocessing from it.
    /// </summary>
    public static void Load(Res2NetBackbone model, string path, LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (_, checkpoint) = CheckpointLayouts.ToOfficial(CheckpointFile.ReadStateDict(path, out var json), Path.GetFileName(path));
        var recorded = json is null ? null : ModelMetadata.FromJson(json, Path.GetFileName(path));
        Load(model, checkpoint, Path.GetFileName(path), options);
        if (recorded is not null)
        {
            Describe(model, recorded);
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
    public static void Save(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckpointFile.Write(path, StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.ToTensorData())),
            (model as Res2NetBackbone)?.Metadata.ToJson());
    }

    /// <summary>Gives the model the class names and preprocessing of recorded metadata that fits it.</summary>
    internal static void Describe(Res2NetBackbone model, ModelMetadata metadata)
    {
        if (metadata.ClassNames.Count == model.Config.NumClasses)
        {
            model.ClassNames = metadata.ClassNames;
        }

        if (metadata.InChannels == model.Config.InChannels)
        {
            model.Preprocess = metadata.Preprocess;
        }
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
    /// Input channels of the checkpoint's stem convolution (the model's first 4-D tensor; 1 for a model trained on
    /// grayscale), or null when the checkpoint has no such tensor.
    /// </summary>
    public static int? StemChannels(ModelInfo info, IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(checkpoint);
        return checkpoint.TryGetValue(Signature(info).StemKey, out var w) && w.Shape.Length == 4 ? (int)Math.Min(w.Shape[1], int.MaxValue) : null;
    }

    /// <summary>
    /// The registered models whose state dict has exactly these keys and shapes, ignoring the classifier's class count
    /// and the stem's input channels (with the number of classes the checkpoint's classifier has).
    /// </summary>
    public static IReadOnlyList<(ModelInfo Model, int NumClasses)> FindMatchingModels(IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var matches = new List<(ModelInfo, int)>();
        foreach (var info in ModelRegistry.All)
        {
            var signature = Signature(info);
            var classes = checkpoint.TryGetValue(signature.Classifier[0], out var fc) && fc.Shape.Length > 0 ? fc.Shape[0] : 0;
            var channels = StemChannels(info, checkpoint) ?? info.Config.InChannels;
            if (classes > ModelMetadata.MaxClasses || channels is < 1 or > MaxInChannels)
            {
                continue;
            }

            var target = Shapes(info, (int)classes, channels);
            if (target.Count == checkpoint.Count && target.All(e => checkpoint.TryGetValue(e.Key, out var d) && d.Shape.SequenceEqual(e.Value)))
            {
                matches.Add((info, (int)classes));
            }
        }

        return matches;
    }

    /// <summary>The most input channels a model may be built with (RGB plus one).</summary>
    internal const int MaxInChannels = 4;

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
            using var model = info.Create();
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
