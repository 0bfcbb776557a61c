using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Res2Net.Imaging;
using Res2Net.Models;
using ModelMetadata = Res2Net.Models.ModelMetadata;

namespace Res2Net.Engines;

/// <summary>
/// Runs a model with ONNX Runtime (all graph optimisations): an ONNX file written by <c>res2net export</c> (its
/// metadata says what the model is) or any classifier with one NCHW float input, or exports made per input size. A
/// pass stops when its token is cancelled (ONNX Runtime's <c>RunOptions.Terminate</c>). Thread-safe.
/// </summary>
internal sealed class OnnxEngine : IInferenceEngine
{
    /// <summary>The input of the graphs this library writes.</summary>
    public const string InputName = "input";

    /// <summary>The classifier output, (N, classes).</summary>
    public const string LogitsName = "logits";

    /// <summary>The pooled embedding output, (N, C).</summary>
    public const string EmbeddingName = "embedding";

    /// <summary>Metadata key that names the number format of an export ("fp32" or "int8").</summary>
    public const string PrecisionKey = "res2net.precision";

    private readonly SessionOptions sessionOptions;
    private readonly SessionFactory? sessionFor;
    private readonly Dictionary<(int Height, int Width, bool Stages), Entry> sessions = [];
    private readonly InferenceSession? single;
    private readonly IDisposable? owned;
    private readonly Lock gate = new();
    private long clock;
    private long singlePressure;

    /// <summary>Makes the session for one input size (and whether stage maps are wanted), and says which file it runs, if any.</summary>
    internal delegate (InferenceSession Session, string? Path) SessionFactory(int height, int width, bool stages, SessionOptions options);

    private OnnxEngine(ModelOptions options, Func<SessionOptions, InferenceSession>? open, SessionFactory? sessionFor, ModelMetadata? metadata,
        IReadOnlyList<FeatureStage> stages, string? source, Precision precision, IDisposable? owned)
    {
        sessionOptions = CreateSessionOptions(options);
        this.sessionFor = sessionFor;
        this.owned = owned;
        Precision = precision;
        ModelPath = source;
        try
        {
            if (open is not null)
            {
                single = open(sessionOptions);
                singlePressure = Pressure(source is null ? 0 : new FileInfo(source).Length);
                (metadata, FixedInputSize, Precision) = Describe(single, source ?? "the ONNX model");
                stages = single.OutputMetadata.ContainsKey(EmbeddingName) ? [FeatureStage.Pooled] : [];
                stages = [.. stages, .. Enum.GetValues<FeatureStage>().Where(s => s != FeatureStage.Pooled && single.OutputMetadata.ContainsKey(StageName(s)))];
            }

            Metadata = metadata!;
            FeatureStages = stages;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public EngineKind Kind => EngineKind.Onnx;

    /// <inheritdoc/>
    public Precision Precision { get; }

    /// <inheritdoc/>
    public ModelMetadata Metadata { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureStage> FeatureStages { get; }

    /// <summary>The square input side a file was exported for (null: any size).</summary>
    public int? FixedInputSize { get; }

    /// <summary>The ONNX file the engine runs (for an engine over exports made per input size: the first one made).</summary>
    public string? ModelPath { get; private set; }

    /// <summary>
    /// Opens an ONNX file. Its <see cref="ModelMetadata"/> is read from the file's <c>metadata_props</c>; for a file from
    /// elsewhere it is inferred: input channels and size from the input's shape, classes from the output's, ImageNet
    /// class names for 1,000 classes, else a <c>classes.txt</c> beside the file, ImageNet preprocessing.
    /// </summary>
    /// <exception cref="Res2NetException">The file is missing, not a regular file, or not a model ONNX Runtime can load.</exception>
    public static OnnxEngine Open(string path, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using (IO.InputFiles.OpenRead(path, "ONNX file"))
        {
            // Only checks that it is a readable regular file: ONNX Runtime reads it itself.
        }

        return new OnnxEngine(options ?? new ModelOptions(), so => Load(() => new InferenceSession(path, so), path), null, null, [], path, Precision.Float32, null);
    }

    /// <summary>Runs an ONNX model held in memory; <paramref name="source"/> names it in messages.</summary>
    public static OnnxEngine FromBytes(byte[] model, ModelOptions? options = null, string source = "the ONNX model")
    {
        ArgumentNullException.ThrowIfNull(model);
        return new OnnxEngine(options ?? new ModelOptions(), so => Load(() => new InferenceSession(model, so), source), null, null, [], null, Precision.Float32, null);
    }

    /// <summary>
    /// An engine whose graphs are made per input size (fixed height and width let ONNX Runtime fuse more; the batch
    /// stays dynamic) by <paramref name="sessionFor"/>, at most <see cref="Limits.MaxSessionsPerEngine"/> kept open at
    /// once. Takes over <paramref name="owned"/>.
    /// </summary>
    public static OnnxEngine PerInputSize(ModelMetadata metadata, ModelOptions? options, SessionFactory sessionFor, IReadOnlyList<FeatureStage> stages,
        Precision precision = Precision.Float32, IDisposable? owned = null) =>
        new(options ?? new ModelOptions(), null, sessionFor, metadata, stages, null, precision, owned);

    /// <inheritdoc/>
    public FloatTensor Logits(FloatTensor batch, CancellationToken cancellationToken = default) => Outputs(batch, logits: true, [], cancellationToken)[0];

    /// <inheritdoc/>
    public IReadOnlyList<FloatTensor> Features(FloatTensor batch, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        this.CheckStages(stages);
        return Outputs(batch, logits: false, stages, cancellationToken);
    }

    /// <inheritdoc/>
    public IReadOnlyList<FloatTensor> Outputs(FloatTensor batch, bool logits, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count > 0)
        {
            this.CheckStages(stages);
        }

        return WithSession(batch, stages.Any(s => s != FeatureStage.Pooled), session =>
        {
            var names = stages.Select(StageName);
            if (logits)
            {
                var name = session.OutputMetadata.ContainsKey(LogitsName) ? LogitsName
                    : session.OutputMetadata.Count == 1 && !IsStage(session.OutputMetadata.Keys.First()) ? session.OutputMetadata.Keys.First()
                    : throw new Res2NetException("The model has no classifier output, so there are no logits.");
                names = names.Prepend(name);
            }

            return Run(session, batch, names.ToArray(), cancellationToken);
        });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        single?.Dispose();
        Release(singlePressure);
        singlePressure = 0;
        lock (gate)
        {
            foreach (var s in sessions.Values)
            {
                s.Session.Dispose();
                Release(s.Pressure);
            }

            sessions.Clear();
        }

        sessionOptions.Dispose();
        owned?.Dispose();
    }

    /// <summary>The output name of a feature stage in the graphs this library writes.</summary>
    internal static string StageName(FeatureStage stage) => stage == FeatureStage.Pooled ? EmbeddingName : stage.ToString().ToLowerInvariant();

    /// <summary>Whether an output is one of the stage maps (c2..c5) this library's exports name so.</summary>
    private static bool IsStage(string output) => Enum.GetValues<FeatureStage>().Any(s => s != FeatureStage.Pooled && StageName(s) == output);

    private static InferenceSession Load(Func<InferenceSession> create, string name)
    {
        try
        {
            return create();
        }
        catch (OnnxRuntimeException e)
        {
            throw new Res2NetException($"{name}: ONNX Runtime cannot load the model ({e.Message.Split('\n')[0].TrimEnd('.')}).", e);
        }
    }

    private static (ModelMetadata Metadata, int? FixedSize, Precision Precision) Describe(InferenceSession session, string source)
    {
        var custom = session.ModelMetadata.CustomMetadataMap;
        var input = session.InputMetadata.Values.First();
        if (input.Dimensions is not { Length: 4 } dims || input.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
        {
            throw new Res2NetException($"{source}: the model's input is not a float batch of shape (N, C, H, W).");
        }

        int? side = dims[2] > 0 && dims[2] == dims[3] ? dims[2] : null;
        var precision = custom.TryGetValue(PrecisionKey, out var p) && p == Precision.Int8.Name() ? Precision.Int8 : Precision.Float32;
        var beside = source == "the ONNX model" ? null : source;
        if (custom.TryGetValue(ModelMetadata.Key, out var json))
        {
            var recorded = ModelMetadata.FromJson(json, source);
            if (recorded.ClassNames.Count == 0 && recorded.NumClasses > 0)
            {
                // Recorded without names (a model built without them): a classes.txt beside the file may have them.
                recorded = recorded with { ClassNames = ImageNetLabels.For(recorded.NumClasses, beside) };
            }

            if (side is { } s && s != recorded.Preprocess.InputSize)
            {
                recorded = recorded with { Preprocess = recorded.Preprocess with { InputSize = s } };
            }

            return (recorded, side, precision);
        }

        var channels = dims[1] > 0 ? dims[1] : 3;
        var output = session.OutputMetadata.TryGetValue(LogitsName, out var logits) ? logits
            : session.OutputMetadata.Count == 1 ? session.OutputMetadata.Values.First() : null;
        var classes = output?.Dimensions is { Length: > 0 } o && o[^1] > 0 ? o[^1] : 0;
        var preprocess = PreprocessConfig.ImageNet.ForChannels(channels);
        if (side is { } fixedSide)
        {
            preprocess = preprocess with { InputSize = fixedSide };
        }

        var metadata = new ModelMetadata
        {
            Model = Path.GetFileNameWithoutExtension(source),
            InChannels = channels,
            NumClasses = classes,
            ClassNames = ImageNetLabels.For(classes, beside),
            Preprocess = preprocess,
        };
        return (metadata, side, precision);
    }

    /// <summary>
    /// Runs <paramref name="run"/> on the session for the batch's size. Sessions made per input size are kept, the
    /// least recently used closed when more than <see cref="Limits.MaxSessionsPerEngine"/> are open, never one in use.
    /// </summary>
    private T WithSession<T>(FloatTensor batch, bool stages, Func<InferenceSession, T> run)
    {
        InferenceEngineExtensions.CheckBatch(batch, Metadata.InChannels);
        int height = (int)batch.Shape[2], width = (int)batch.Shape[3];
        if (single is not null)
        {
            if (FixedInputSize is { } side && (height != side || width != side))
            {
                throw new InvalidOptionException("InputSize", $"must be {side} for this ONNX model, which takes {side}x{side} inputs (got {width}x{height}); export it again for another size");
            }

            return run(single);
        }

        Entry entry;
        lock (gate)
        {
            if (!sessions.TryGetValue((height, width, stages), out entry!))
            {
                var (created, path) = sessionFor!(height, width, stages, sessionOptions);
                sessions[(height, width, stages)] = entry = new Entry(created) { Pressure = Pressure(path is null ? 0 : new FileInfo(path).Length) };
                ModelPath ??= path;
            }

            entry.InUse++;
            entry.LastUsed = ++clock;
        }

        try
        {
            return run(entry.Session);
        }
        finally
        {
            lock (gate)
            {
                entry.InUse--;
                while (sessions.Count > Limits.MaxSessionsPerEngine && sessions.Where(e => e.Value.InUse == 0).MinBy(e => e.Value.LastUsed) is { Value: not null } idle)
                {
                    sessions.Remove(idle.Key);
                    idle.Value.Session.Dispose();
                    Release(idle.Value.Pressure);
                }
            }
        }
    }

    private static FloatTensor[] Run(InferenceSession session, FloatTensor batch, string[] outputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, MemoryMarshal.AsMemory(batch.Values), batch.ShapeUnsafe);
        using var runOptions = new RunOptions();
        using var stop = cancellationToken.Register(() => runOptions.Terminate = true);
        try
        {
            using var results = session.Run(runOptions, [session.InputMetadata.Keys.First()], [value], outputs);
            return results.Select(r => new FloatTensor(r.GetTensorDataAsSpan<float>().ToArray(), r.GetTensorTypeAndShape().Shape)).ToArray();
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            // ONNX Runtime reports a terminated run as an error: it is the caller's cancellation.
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private static SessionOptions CreateSessionOptions(ModelOptions options)
    {
        var o = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            InterOpNumThreads = 1,
        };
        if (options.Threads is { } t)
        {
            o.IntraOpNumThreads = t;
        }

        if (!options.AllowSpinning)
        {
            o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        return o;
    }

    /// <summary>
    /// Tells the garbage collector that a session holds about <paramref name="modelBytes"/> of native memory (its weights,
    /// then their packed copies), so that it schedules its collections knowing the process is that much larger: garbage a
    /// first use left (the checkpoint it read, the export it built) is then collected before it adds to the peak.
    /// </summary>
    private static long Pressure(long modelBytes)
    {
        var bytes = 2 * modelBytes;
        if (bytes > 0)
        {
            GC.AddMemoryPressure(bytes);
        }

        return bytes;
    }

    private static void Release(long bytes)
    {
        if (bytes > 0)
        {
            GC.RemoveMemoryPressure(bytes);
        }
    }

    private sealed class Entry(InferenceSession session)
    {
        public InferenceSession Session { get; } = session;

        public long Pressure { get; init; }

        public int InUse { get; set; }

        public long LastUsed { get; set; }
    }
}
