using System.Collections.Concurrent;
using Res2Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Weights;

/// <summary>A checkpoint that does not fit the model it is loaded into.</summary>
public sealed class WeightsMismatchException(string message) : Exception(message);

/// <summary>How a state dict is matched to a model.</summary>
public sealed record LoadOptions
{
    /// <summary>Every model key must be in the checkpoint with the same shape, and nothing else (PyTorch's strict=True).</summary>
    public bool Strict { get; init; } = true;

    /// <summary>Leave the classifier freshly initialised when its shape differs (fine-tuning to another class count).</summary>
    public bool SkipMismatchedClassifier { get; init; }

    public static LoadOptions Default { get; } = new();
}

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

    /// <summary>Reads a checkpoint file (any supported container) into the model.</summary>
    public static void Load(Res2NetBackbone model, string path, LoadOptions? options = null) =>
        Load(model, CheckpointFile.ReadStateDict(path), Path.GetFileName(path), options);

    /// <summary>Copies a state dict into the model; throws <see cref="WeightsMismatchException"/> with one sentence on a mismatch.</summary>
    public static void Load(Res2NetBackbone model, IReadOnlyDictionary<string, TensorData> checkpoint, string source, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        var target = StateDict(model);
        var classifier = model.ClassifierKeys.ToHashSet();
        var missing = new List<string>();
        var wrongShape = new List<string>();
        var skipped = new HashSet<string>();
        foreach (var (key, tensor) in target)
        {
            if (!checkpoint.TryGetValue(key, out var data))
            {
                missing.Add(key);
            }
            else if (!data.Shape.SequenceEqual(tensor.shape))
            {
                if (options.SkipMismatchedClassifier && classifier.Contains(key))
                {
                    skipped.Add(key);
                }
                else
                {
                    wrongShape.Add($"{key} is {Shape(data.Shape)} in the checkpoint but {Shape(tensor.shape)} in the model");
                }
            }
        }

        var targetKeys = target.Select(e => e.Key).ToHashSet();
        var unexpected = checkpoint.Keys.Where(k => !targetKeys.Contains(k)).ToList();
        if (wrongShape.Count > 0 || (options.Strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            throw new WeightsMismatchException(DescribeMismatch(model, checkpoint, source, missing, unexpected, wrongShape));
        }

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

    /// <summary>Writes the model's state dict; the container follows the extension (.pth/.pt/.bin or .safetensors).</summary>
    public static void Save(nn.Module model, string path) =>
        CheckpointFile.Write(path, StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.ToTensorData())));

    /// <summary>
    /// Input channels of the checkpoint's stem convolution (the model's first 4-D tensor; 1 for a model trained on
    /// grayscale), or null when the checkpoint has no such tensor. The model is probed on the meta device.
    /// </summary>
    public static int? StemChannels(ModelInfo info, IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        string stem;
        using (Layers.On(META))
        {
            using var probe = info.Create();
            stem = StateDict(probe).First(e => e.Value.dim() == 4).Key;
        }

        return checkpoint.TryGetValue(stem, out var w) && w.Shape.Length == 4 ? (int)w.Shape[1] : null;
    }

    /// <summary>
    /// The registered models whose state dict has exactly these keys and shapes, ignoring the classifier's class count
    /// (with the number of classes the checkpoint's classifier has).
    /// </summary>
    public static IReadOnlyList<(ModelInfo Model, int NumClasses)> FindMatchingModels(IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        var matches = new List<(ModelInfo, int)>();
        foreach (var info in ModelRegistry.All)
        {
            var (target, classifier) = Signature(info);
            if (target.Count != checkpoint.Count)
            {
                continue;
            }

            var fits = target.All(e => checkpoint.TryGetValue(e.Key, out var d)
                && (d.Shape.SequenceEqual(e.Value) || (classifier.Contains(e.Key) && d.Shape.Length == e.Value.Length
                    && d.Shape.Skip(1).SequenceEqual(e.Value.Skip(1)))));
            if (fits)
            {
                var classes = checkpoint.TryGetValue(classifier[0], out var fc) ? (int)fc.Shape[0] : 0;
                matches.Add((info, classes));
            }
        }

        return matches;
    }

    private static readonly ConcurrentDictionary<string, (List<KeyValuePair<string, long[]>>, IReadOnlyList<string>)> Signatures = new();

    /// <summary>
    /// Key names and shapes of a registered model, built once on LibTorch's meta device: shapes without memory or
    /// initialisation, so matching a checkpoint against every model takes milliseconds instead of seconds.
    /// </summary>
    private static (List<KeyValuePair<string, long[]>> Shapes, IReadOnlyList<string> Classifier) Signature(ModelInfo info) =>
        Signatures.GetOrAdd(info.Name, _ =>
        {
            using var meta = Layers.On(META);
            using var model = info.Create();
            return (StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.shape)).ToList(), model.ClassifierKeys);
        });

    private static string DescribeMismatch(Res2NetBackbone model, IReadOnlyDictionary<string, TensorData> checkpoint, string source,
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

        var name = model.ModelName ?? "the model";
        var hint = string.Empty;
        var fits = FindMatchingModels(checkpoint);
        if (fits.Count > 0)
        {
            var (info, classes) = fits[0];
            hint = classes == info.Config.NumClasses || info.Name == name
                ? $"; its shapes fit {info.Name}" + (classes != model.Config.NumClasses ? $" with {classes} classes" : string.Empty)
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
