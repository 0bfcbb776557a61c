using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Engines;

/// <summary>How the ONNX engine builds and runs its model.</summary>
public sealed record OnnxEngineOptions
{
    /// <summary>Intra-op threads of ONNX Runtime; null lets it use one per physical core.</summary>
    public int? Threads { get; init; }

    /// <summary>Export settings; the default is a dynamic batch and input size.</summary>
    public OnnxExportOptions Export { get; init; } = new();

    /// <summary>Where exports are cached; null means the res2net cache folder ($RES2NET_HOME or ~/.cache/res2net) + /onnx.</summary>
    public string? CacheDirectory { get; init; }
}

/// <summary>
/// Runs a model with ONNX Runtime (all graph optimisations) on the graph <see cref="OnnxExporter"/> writes: same
/// <see cref="ClassScore"/> results and feature tensors as <see cref="TorchEngine"/>. The export is built on first use
/// and cached, keyed by model, weights content, exporter version and options.
/// </summary>
public sealed class OnnxEngine : IInferenceEngine
{
    private readonly SessionOptions sessionOptions;
    private readonly InferenceSession session;
    private readonly string inputName;
    private readonly bool hasLogits;
    private readonly bool hasEmbedding;
    private readonly Func<byte[]>? stagesExport;
    private readonly IDisposable? owned;
    private InferenceSession? stagesSession;

    private OnnxEngine(byte[]? onnx, string? path, int inChannels, IReadOnlyList<string>? labels, int? threads,
        Func<byte[]>? stagesExport, IDisposable? owned)
    {
        sessionOptions = CreateSessionOptions(threads);
        try
        {
            session = onnx is not null ? new InferenceSession(onnx, sessionOptions) : new InferenceSession(path!, sessionOptions);
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }

        inputName = session.InputMetadata.Keys.First();
        hasLogits = session.OutputMetadata.ContainsKey(OnnxExporter.LogitsName);
        hasEmbedding = session.OutputMetadata.ContainsKey(OnnxExporter.EmbeddingName);
        InChannels = inChannels;
        var classes = hasLogits ? session.OutputMetadata[OnnxExporter.LogitsName].Dimensions[^1] : 0;
        Labels = labels ?? ImageNetLabels.For(classes);
        this.stagesExport = stagesExport;
        this.owned = owned;
    }

    public string EngineName => "onnx";

    public int InChannels { get; }

    public IReadOnlyList<string> Labels { get; }

    /// <summary>Where the export was cached (null when built in memory or opened from a file).</summary>
    public string? CachedModelPath { get; private init; }

    /// <summary>Builds a registered model, loads a checkpoint (strictly), exports it once and runs the cached export.</summary>
    public static OnnxEngine Load(string modelName, string weightsPath, OnnxEngineOptions? options = null)
    {
        options ??= new OnnxEngineOptions();
        var info = ModelRegistry.Get(modelName);
        var checkpoint = CheckpointFile.ReadStateDict(weightsPath);
        int? numClasses = checkpoint.TryGetValue("fc.weight", out var fc) ? (int)fc.Shape[0] : null;
        var weightsHash = HashFile(weightsPath);

        Res2NetBackbone BuildModel()
        {
            var model = info.Create(numClasses);
            try
            {
                ModelWeights.Load(model, checkpoint, Path.GetFileName(weightsPath));
                model.eval();
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        string Cached(OnnxExportOptions export)
        {
            var dir = options.CacheDirectory ?? Path.Combine(WeightsCache.DefaultDirectory(), "onnx");
            var key = Hash($"{info.Name}|{numClasses}|{weightsHash}|v{OnnxExporter.FormatVersion}|{export.Key}")[..16];
            var path = Path.Combine(dir, $"{info.Name}-{key}.onnx");
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(dir);
                using var model = BuildModel();
                OnnxExporter.Export(model, path, export);
            }

            return path;
        }

        var main = Cached(options.Export);
        var inChannels = info.Config.InChannels;
        return new OnnxEngine(null, main, inChannels, null, options.Threads,
            () => File.ReadAllBytes(Cached(options.Export with { Stages = true })), null)
        {
            CachedModelPath = main,
        };
    }

    /// <summary>Exports a model in memory (no cache) and takes ownership of it, as <see cref="TorchEngine"/> does.</summary>
    public static OnnxEngine FromModel(Res2NetBackbone model, OnnxEngineOptions? options = null)
    {
        options ??= new OnnxEngineOptions();
        model.eval();
        return new OnnxEngine(OnnxExporter.ExportBytes(model, options.Export), null, model.Config.InChannels, null, options.Threads,
            () => OnnxExporter.ExportBytes(model, options.Export with { Stages = true }), model);
    }

    /// <summary>Runs any ONNX classifier file with one NCHW float input (e.g. PyTorch's own export, for comparison).</summary>
    public static OnnxEngine FromFile(string onnxPath, int inChannels = 3, int? threads = null) =>
        new(null, onnxPath, inChannels, null, threads, null, null);

    /// <summary>Runs an ONNX model held in memory (no stage outputs unless it has them).</summary>
    public static OnnxEngine FromBytes(byte[] onnx, int inChannels = 3, int? threads = null) =>
        new(onnx, null, inChannels, null, threads, null, null);

    public IReadOnlyList<ClassScore[]> Classify(Tensor batch, int topk = 5)
    {
        var (logits, shape) = Run(batch, FirstOutput());
        int n = (int)shape[0], classes = (int)shape[1];
        var k = Math.Min(topk, classes);
        var result = new ClassScore[n][];
        var probs = new float[classes];
        for (var row = 0; row < n; row++)
        {
            // Softmax in double, as stable as LibTorch's: subtract the maximum first.
            var span = logits.AsSpan(row * classes, classes);
            var max = float.NegativeInfinity;
            foreach (var v in span)
            {
                max = Math.Max(max, v);
            }

            double sum = 0;
            for (var c = 0; c < classes; c++)
            {
                sum += Math.Exp(span[c] - max);
            }

            for (var c = 0; c < classes; c++)
            {
                probs[c] = (float)(Math.Exp(span[c] - max) / sum);
            }

            result[row] = Enumerable.Range(0, classes).OrderByDescending(c => probs[c]).ThenBy(c => c).Take(k)
                .Select(c => new ClassScore(c, c < Labels.Count ? Labels[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture), probs[c]))
                .ToArray();
        }

        return result;
    }

    public Tensor Logits(Tensor batch)
    {
        if (!hasLogits)
        {
            throw new ArgumentException("The model has no classifier, so there are no logits.");
        }

        var (data, shape) = Run(batch, OnnxExporter.LogitsName);
        return tensor(data, shape);
    }

    public Tensor Features(Tensor batch, FeatureStage stage)
    {
        if (stage == FeatureStage.Pooled)
        {
            if (!hasEmbedding)
            {
                throw new ArgumentException("This ONNX model has no embedding output.");
            }

            var (data, shape) = Run(batch, OnnxExporter.EmbeddingName);
            return tensor(data, shape);
        }

        if (stagesExport is null)
        {
            throw new ArgumentException($"This ONNX model has no stage outputs; there is no {stage}.");
        }

        // Stage maps come from a second export with the stages as outputs, built only when asked for.
        stagesSession ??= new InferenceSession(stagesExport(), sessionOptions);
        var name = stage.ToString().ToLowerInvariant();
        if (!stagesSession.OutputMetadata.ContainsKey(name))
        {
            throw new ArgumentException($"The model has {stagesSession.OutputMetadata.Count(o => o.Key.StartsWith('c'))} stages; there is no {stage}.");
        }

        var (d, s) = Run(batch, name, stagesSession);
        return tensor(d, s);
    }

    public void Dispose()
    {
        stagesSession?.Dispose();
        session.Dispose();
        sessionOptions.Dispose();
        owned?.Dispose();
    }

    private string FirstOutput() => hasLogits ? OnnxExporter.LogitsName : session.OutputMetadata.Keys.First();

    private (float[] Data, long[] Shape) Run(Tensor batch, string output, InferenceSession? on = null)
    {
        if (batch.dim() != 4 || batch.shape[1] != InChannels || batch.dtype != ScalarType.Float32)
        {
            throw new ArgumentException(
                $"expected a float32 batch of shape (N, {InChannels}, H, W), got {batch.dtype} ({string.Join(", ", batch.shape)}).");
        }

        var s = on ?? session;
        float[] input;
        using (var c = batch.cpu().contiguous())
        {
            input = c.data<float>().ToArray();
        }

        using var value = OrtValue.CreateTensorValueFromMemory(input, batch.shape);
        using var runOptions = new RunOptions();
        using var results = s.Run(runOptions, [s == session ? inputName : s.InputMetadata.Keys.First()], [value], [output]);
        var result = results.First();
        return (result.GetTensorDataAsSpan<float>().ToArray(), result.GetTensorTypeAndShape().Shape);
    }

    private static SessionOptions CreateSessionOptions(int? threads)
    {
        var o = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            InterOpNumThreads = 1,
        };
        if (threads is { } t)
        {
            if (t < 1)
            {
                o.Dispose();
                throw new ArgumentException($"Threads must be at least 1 (got {t}).");
            }

            o.IntraOpNumThreads = t;
        }

        return o;
    }

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
