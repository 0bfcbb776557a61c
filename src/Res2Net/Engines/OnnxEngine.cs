using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Onnx;
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

    /// <summary>
    /// Whether exports are cached beside the weights file (<c>best.pth</c> gets <c>best.KEY.onnx</c>), so they stay
    /// and go with their checkpoint; default true. Where that folder cannot be written, and when false, they go to
    /// <see cref="CacheDirectory"/>.
    /// </summary>
    public bool CacheBesideWeights { get; init; } = true;

    /// <summary>The other cache folder; null means the res2net cache folder ($RES2NET_HOME or ~/.cache/res2net) + /onnx.</summary>
    public string? CacheDirectory { get; init; }
}

/// <summary>
/// Runs a model with ONNX Runtime (all graph optimisations) on the graph <see cref="OnnxExporter"/> writes: same
/// <see cref="ClassScore"/> results and feature tensors as <see cref="TorchEngine"/>. Exports are built on first use
/// and cached beside the weights (else in the cache folder), keyed by model, weights content, exporter version and
/// options.
/// </summary>
/// <remarks>
/// Each input size gets its own export with fixed height and width (the batch stays dynamic): with symbolic spatial
/// dimensions ONNX Runtime cannot fuse the residual Add and ReLU into its NCHWc convolutions (measured on
/// res2net50_26w_4s: 16 more Relu, 16 more Add and 48 Reshape nodes left in the optimised graph).
/// </remarks>
public sealed class OnnxEngine : IInferenceEngine
{
    private readonly SessionOptions sessionOptions;
    private readonly Func<OnnxExportOptions, SessionOptions, (InferenceSession Session, string? Path)>? export;
    private readonly OnnxExportOptions template;
    private readonly Dictionary<(int? Size, bool Stages), InferenceSession> sessions = [];
    private readonly InferenceSession? single;
    private readonly IDisposable? owned;

    private OnnxEngine(int inChannels, int? threads, Func<SessionOptions, InferenceSession>? open,
        Func<OnnxExportOptions, SessionOptions, (InferenceSession, string?)>? export, OnnxExportOptions? template, int classes,
        IDisposable? owned, string? weightsPath = null)
    {
        sessionOptions = CreateSessionOptions(threads);
        this.template = template ?? new OnnxExportOptions();
        this.export = export;
        this.owned = owned;
        InChannels = inChannels;
        try
        {
            // A file of unknown origin is one session for every input; exports are made per input size on first use.
            if (open is not null)
            {
                single = open(sessionOptions);
                if (single.InputMetadata.Values.First().Dimensions is { Length: 4 } dims)
                {
                    // A file says how many channels, and perhaps what size, it takes.
                    InChannels = dims[1] > 0 ? dims[1] : inChannels;
                    FixedInputSize = dims[2] > 0 && dims[2] == dims[3] ? dims[2] : null;
                }

                classes = single.OutputMetadata.TryGetValue(OnnxExporter.LogitsName, out var logits) ? logits.Dimensions[^1]
                    : single.OutputMetadata.Count == 1 ? single.OutputMetadata.Values.First().Dimensions[^1] : 0;
            }

            Labels = ImageNetLabels.For(classes, weightsPath);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string EngineName => "onnx";

    public int InChannels { get; }

    public IReadOnlyList<string> Labels { get; }

    /// <summary>The square input side an ONNX file was exported for (null: any size, or an engine that exports per size).</summary>
    public int? FixedInputSize { get; }

    /// <summary>Where the first export used was cached (null before the first run, when built in memory or opened from a file).</summary>
    public string? CachedModelPath { get; private set; }

    /// <summary>Builds a registered model, loads a checkpoint (strictly), exports it once and runs the cached export.</summary>
    public static OnnxEngine Load(string modelName, string weightsPath, OnnxEngineOptions? options = null)
    {
        options ??= new OnnxEngineOptions();
        var info = ModelRegistry.Get(modelName);
        // Kept until the first session is opened (which usually exports from it), then let go: see Open.
        IReadOnlyDictionary<string, TensorData>? firstRead = CheckpointFile.ReadStateDict(weightsPath);
        var (numClasses, inChannels) = Shapes(firstRead);
        var weightsHash = HashFile(weightsPath);

        (int? Classes, int InChannels) Shapes(IReadOnlyDictionary<string, TensorData> state) =>
            (state.TryGetValue("fc.weight", out var fc) ? (int)fc.Shape[0] : null, ModelWeights.StemChannels(info, state) ?? info.Config.InChannels);

        (InferenceSession, string?) Open(OnnxExportOptions export, SessionOptions sessionOptions)
        {
            var key = Hash($"{info.Name}|{numClasses}|{inChannels}|{weightsHash}|v{OnnxExporter.FormatVersion}|{export.Key}")[..16];
            var name = $"{Path.GetFileNameWithoutExtension(weightsPath)}.{key}.onnx";
            var folders = new List<string>();
            if (options.CacheBesideWeights)
            {
                folders.Add(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!);
            }

            folders.Add(options.CacheDirectory ?? Path.Combine(WeightsCache.DefaultDirectory(), "onnx"));
            var path = folders.Select(f => Path.Combine(f, name)).FirstOrDefault(File.Exists);
            var checkpoint = firstRead;
            firstRead = null;
            if (path is null)
            {
                // Later sizes read the file again rather than keep it: the engine lives as long as the process, the
                // checkpoint (100 MB for res2net50) is needed only when a new input size is exported, and then it must
                // still be the file whose hash names the cache entry.
                if (checkpoint is null)
                {
                    checkpoint = CheckpointFile.ReadStateDict(weightsPath);
                    if (HashFile(weightsPath) != weightsHash || Shapes(checkpoint) != (numClasses, inChannels))
                    {
                        throw new IOException($"{weightsPath}: the checkpoint changed while the engine was using it.");
                    }
                }

                ModelProto proto;
                using (var model = info.Create(numClasses, inChannels))
                {
                    ModelWeights.Load(model, checkpoint, Path.GetFileName(weightsPath));
                    model.eval();
                    proto = OnnxExporter.Build(model, export);
                }

                for (var i = 0; ; i++)
                {
                    path = Path.Combine(folders[i], name);
                    try
                    {
                        Directory.CreateDirectory(folders[i]);
                        OnnxExporter.Write(proto, path);
                        break;
                    }
                    catch (Exception e) when (i < folders.Count - 1 && e is IOException or UnauthorizedAccessException)
                    {
                        // A read-only folder beside the weights (a mounted model store): the cache folder then.
                    }
                }
            }

            return (new InferenceSession(path, sessionOptions), path);
        }

        return new OnnxEngine(inChannels, options.Threads, null, Open, options.Export, numClasses ?? info.Config.NumClasses, null, weightsPath);
    }

    /// <summary>Exports a model in memory (no cache) and takes ownership of it, as <see cref="TorchEngine"/> does.</summary>
    public static OnnxEngine FromModel(Res2NetBackbone model, OnnxEngineOptions? options = null)
    {
        options ??= new OnnxEngineOptions();
        model.eval();
        return new OnnxEngine(model.Config.InChannels, options.Threads, null,
            (e, so) => (new InferenceSession(OnnxExporter.ExportBytes(model, e), so), null), options.Export, model.Config.NumClasses, model);
    }

    /// <summary>
    /// Runs any ONNX classifier file with one NCHW float input (an <c>export --int8</c>, or PyTorch's own export for
    /// comparison); class names come from a classes.txt beside it, as for checkpoints.
    /// </summary>
    public static OnnxEngine FromFile(string onnxPath, int inChannels = 3, int? threads = null) =>
        File.Exists(onnxPath)
            ? new(inChannels, threads, so => new InferenceSession(onnxPath, so), null, null, 0, null, onnxPath)
            : throw new FileNotFoundException($"{onnxPath}: no such ONNX file.", onnxPath);

    /// <summary>Runs an ONNX model held in memory (no stage outputs unless it has them).</summary>
    public static OnnxEngine FromBytes(byte[] onnx, int inChannels = 3, int? threads = null) =>
        new(inChannels, threads, so => new InferenceSession(onnx, so), null, null, 0, null);

    public IReadOnlyList<ClassScore[]> Classify(Tensor batch, int topk = 5)
    {
        var session = SessionFor(batch, stages: false);
        var output = session.OutputMetadata.ContainsKey(OnnxExporter.LogitsName) ? OnnxExporter.LogitsName : session.OutputMetadata.Keys.First();
        var (logits, shape) = Run(session, batch, output);
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

    public Tensor Logits(Tensor batch) => Output(batch, OnnxExporter.LogitsName, stages: false, "The model has no classifier, so there are no logits.");

    public Tensor Features(Tensor batch, FeatureStage stage) => stage == FeatureStage.Pooled
        ? Output(batch, OnnxExporter.EmbeddingName, stages: false, "This ONNX model has no embedding output.")
        : Output(batch, stage.ToString().ToLowerInvariant(), stages: true, $"The model has no stage {stage}.");

    public void Dispose()
    {
        single?.Dispose();
        foreach (var s in sessions.Values)
        {
            s.Dispose();
        }

        sessions.Clear();
        sessionOptions.Dispose();
        owned?.Dispose();
    }

    private Tensor Output(Tensor batch, string name, bool stages, string missing)
    {
        var session = SessionFor(batch, stages);
        if (!session.OutputMetadata.ContainsKey(name))
        {
            throw new ArgumentException(missing);
        }

        var (data, shape) = Run(session, batch, name);
        return tensor(data, shape);
    }

    private InferenceSession SessionFor(Tensor batch, bool stages)
    {
        if (batch.dim() != 4 || batch.shape[1] != InChannels || batch.dtype != ScalarType.Float32)
        {
            throw new ArgumentException(
                $"expected a float32 batch of shape (N, {InChannels}, H, W), got {batch.dtype} ({string.Join(", ", batch.shape)}).");
        }

        if (single is not null)
        {
            if (FixedInputSize is { } side && (batch.shape[2] != side || batch.shape[3] != side))
            {
                throw new ArgumentException($"This ONNX model takes {side}x{side} inputs, not {batch.shape[2]}x{batch.shape[3]}; use --size {side} or export it again with --size {batch.shape[2]}.");
            }

            return stages ? throw new ArgumentException("Stage maps need an engine built from a model; this ONNX file has none.") : single;
        }

        return SessionFor((int)batch.shape[2], (int)batch.shape[3], stages);
    }

    /// <summary>The session for one input size (square: fixed size; otherwise dynamic height and width).</summary>
    private InferenceSession SessionFor(int? height, int? width, bool stages)
    {
        int? size = template.Size ?? (height == width ? height : null);
        if (!sessions.TryGetValue((size, stages), out var session))
        {
            var (created, path) = export!(template with { Size = size, Stages = stages }, sessionOptions);
            sessions[(size, stages)] = session = created;
            CachedModelPath ??= path;
        }

        return session;
    }

    private static (float[] Data, long[] Shape) Run(InferenceSession session, Tensor batch, string output)
    {
        float[] input;
        using (var c = batch.cpu().contiguous())
        {
            input = c.data<float>().ToArray();
        }

        using var value = OrtValue.CreateTensorValueFromMemory(input, batch.shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [session.InputMetadata.Keys.First()], [value], [output]);
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
