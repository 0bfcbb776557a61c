using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Res2Net.Explain;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Engines;

/// <summary>
/// A model opened for inference, the one way in (as ONNX Runtime's <c>InferenceSession</c> is): photos in,
/// predictions, embeddings, stage maps and Grad-CAM maps out. <see cref="OpenAsync(ModelSource, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>
/// opens a registered model's published weights, a checkpoint, an ONNX file or an untrained architecture, on the
/// engine the options pick. Many inputs are decoded in parallel while the engine runs the batch before, results come
/// back in input order, and a bad input is reported in its place without stopping the others. Thread-safe.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly IClassActivationMapper? explainer;

    internal Predictor(IInferenceEngine engine, ImagePreprocessor preprocessor, IClassActivationMapper? explainer = null)
    {
        Engine = engine;
        Preprocessor = preprocessor;
        this.explainer = explainer;
        if (preprocessor.Channels != engine.Metadata.InChannels)
        {
            throw new InvalidOptionException("Preprocessor", $"makes {preprocessor.Channels}-channel inputs but the model takes {engine.Metadata.InChannels}");
        }
    }

    /// <summary>What the weights are for: the model, its classes and their names, its preprocessing, license.</summary>
    public ModelMetadata Metadata => Engine.Metadata;

    /// <summary>The engine that runs the model (<see cref="EngineKind.Onnx"/> or <see cref="EngineKind.Torch"/>).</summary>
    public EngineKind EngineKind => Engine.Kind;

    /// <summary>The number format the model computes in.</summary>
    public Precision Precision => Engine.Precision;

    /// <summary>The feature outputs the model gives: the pooled embedding and the stage maps it has.</summary>
    public IReadOnlyList<FeatureStage> FeatureStages => Engine.FeatureStages;

    /// <summary>The photo transform: the one the weights record, with the options' overrides.</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <summary>Whether <see cref="Explain"/> can compute Grad-CAM maps (opened with <see cref="ModelOptions.GradCam"/>).</summary>
    public bool CanExplain => explainer is not null;

    /// <summary>The engine, for this library's own front ends (the service's batcher, the benchmark, evaluation).</summary>
    internal IInferenceEngine Engine { get; }

    /// <summary>
    /// Opens a model for inference. For a registered model the published weights are downloaded once into the cache
    /// (<paramref name="progress"/> hears how far); a checkpoint on the ONNX engine is exported on first use and the
    /// export cached. Registered models, checkpoints and untrained architectures need the Res2Net package; an ONNX
    /// file needs only this one.
    /// </summary>
    /// <param name="source">What to open.</param>
    /// <param name="options">The engine, precision, threads, form, preprocessing overrides and cache; null: the defaults.</param>
    /// <param name="progress">Hears a download's progress, first with zero bytes (nothing when the weights are cached).</param>
    /// <param name="cancellationToken">Stops a download or an export.</param>
    /// <exception cref="InvalidOptionException">An option is out of range or does not apply to the source.</exception>
    /// <exception cref="Res2NetException">The source cannot be read, downloaded or opened; the message says which and why.</exception>
    public static async Task<Predictor> OpenAsync(ModelSource source, ModelOptions? options = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= new ModelOptions();
        options.Validate(source);
        cancellationToken.ThrowIfCancellationRequested();
        var opened = source.Kind == ModelSourceKind.Onnx
            ? new OpenedModel(OnnxEngine.Open(source.Location, options), null)
            : await ModelProviders.For(source).OpenAsync(source, options, progress, cancellationToken).ConfigureAwait(false);
        try
        {
            if (source.Kind == ModelSourceKind.Onnx && source.Model is { } model && ModelRegistry.Get(model).Name is var asked
                && !string.Equals(opened.Engine.Metadata.Model, asked, StringComparison.OrdinalIgnoreCase))
            {
                throw new Res2NetException($"{source}: the ONNX file holds {opened.Engine.Metadata.Model}, not {asked}.");
            }

            if (options.Precision is { } precision && precision != opened.Engine.Precision)
            {
                throw new InvalidOptionException(nameof(ModelOptions.Precision),
                    $"must be {opened.Engine.Precision.Name()} for {source}, which computes in {opened.Engine.Precision.Name()} as it was exported (got {precision.Name()})");
            }

            var recorded = opened.Engine.Metadata.Preprocess;
            var preprocess = recorded with { InputSize = options.InputSize ?? recorded.InputSize, CropPct = options.CropPct ?? recorded.CropPct };
            return new Predictor(opened.Engine, new ImagePreprocessor(preprocess, opened.Engine.Metadata.InChannels), opened.Explainer);
        }
        catch
        {
            opened.Engine.Dispose();
            (opened.Explainer as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see cref="OpenAsync(ModelSource, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/> of
    /// <see cref="ModelSource.Parse"/>(<paramref name="source"/>): an ONNX file, a checkpoint or a registered model's
    /// published weights (<c>name</c> or <c>name.tag</c>).
    /// </summary>
    public static Task<Predictor> OpenAsync(string source, ModelOptions? options = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        OpenAsync(ModelSource.Parse(source), options, progress, cancellationToken);

    /// <summary>Classifies one photo file.</summary>
    /// <param name="imagePath">The photo (JPEG, PNG, BMP, GIF, WebP).</param>
    /// <param name="topk">Classes to return, at least one (all of them when the model has fewer).</param>
    public Prediction Predict(string imagePath, int topk = 5) => Predict(ImageDecoder.Decode(imagePath), topk);

    /// <summary>Classifies one encoded photo held in memory; <paramref name="name"/> names it in errors.</summary>
    public Prediction Predict(ReadOnlySpan<byte> encoded, int topk = 5, string name = "image") => Predict(ImageDecoder.Decode(encoded, name), topk);

    /// <summary>Classifies one decoded photo.</summary>
    public Prediction Predict(DecodedImage photo, int topk = 5)
    {
        Prediction.CheckTopK(topk);
        return Classify(Batch(Preprocessor.Process(photo)), topk)[0];
    }

    /// <summary>The pooled embedding (the features before the classifier) of one photo file.</summary>
    public float[] Embed(string imagePath) => Embed(ImageDecoder.Decode(imagePath));

    /// <summary>The pooled embedding of one decoded photo.</summary>
    public float[] Embed(DecodedImage photo) => Features(Batch(Preprocessor.Process(photo)), [FeatureStage.Pooled])[0].Values.ToArray();

    /// <summary>The top <paramref name="topk"/> classes of each row of a preprocessed batch (N, C, H, W).</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; a pass in progress stops.</exception>
    public IReadOnlyList<Prediction> Classify(FloatTensor batch, int topk = 5, CancellationToken cancellationToken = default) =>
        Engine.Classify(batch, topk, cancellationToken);

    /// <summary>The raw logits (N, classes) of a preprocessed batch (N, C, H, W).</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; a pass in progress stops.</exception>
    public FloatTensor Logits(FloatTensor batch, CancellationToken cancellationToken = default) => Engine.Logits(batch, cancellationToken);

    /// <summary>One tensor per requested stage, from one pass over a preprocessed batch: (N, C) pooled, (N, C, H, W) for a stage map.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; a pass in progress stops.</exception>
    public IReadOnlyList<FloatTensor> Features(FloatTensor batch, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default) =>
        Engine.Features(batch, stages, cancellationToken);

    /// <summary>The logits (when <paramref name="logits"/> is set), then one tensor per requested stage, from one pass over a preprocessed batch.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; a pass in progress stops.</exception>
    internal IReadOnlyList<FloatTensor> Outputs(FloatTensor batch, bool logits, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default) =>
        Engine.Outputs(batch, logits, stages, cancellationToken);

    /// <summary>
    /// Grad-CAM: where the model looked for <paramref name="classIndex"/> (null: the top class) in the whole photo, from
    /// the activations of <paramref name="stage"/> (null: the last stage). One map at a time.
    /// </summary>
    /// <exception cref="InvalidOptionException">The predictor was opened without <see cref="ModelOptions.GradCam"/>, or the class or stage does not exist.</exception>
    public CamResult Explain(DecodedImage photo, int? classIndex = null, FeatureStage? stage = null)
    {
        ArgumentNullException.ThrowIfNull(photo);
        return (explainer ?? throw new InvalidOptionException(nameof(ModelOptions.GradCam),
            "must be set when the model is opened for Grad-CAM maps (it loads a TorchSharp copy of the model, which has gradients)")).Map(photo, classIndex, stage);
    }

    /// <summary>
    /// Classifies every row of every input (image files, folders of images, .npy batches), in input order. A row that
    /// cannot be read is an <see cref="ItemResult{T}"/> with its error, in its place; <paramref name="progress"/> hears
    /// the number of rows done after each batch.
    /// </summary>
    public IAsyncEnumerable<ItemResult<Prediction>> PredictManyAsync(IEnumerable<string> inputs, int topk = 5, BatchOptions? options = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        Prediction.CheckTopK(topk);
        return RunAsync(inputs, options, progress, (batch, ct) => Engine.Classify(batch, topk, ct), cancellationToken);
    }

    /// <summary>The pooled embedding of every row of every input, in input order; a row that cannot be read is reported in its place.</summary>
    public IAsyncEnumerable<ItemResult<float[]>> EmbedManyAsync(IEnumerable<string> inputs, BatchOptions? options = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default) =>
        RunAsync(inputs, options, progress, (batch, ct) =>
        {
            var pooled = Engine.Features(batch, [FeatureStage.Pooled], ct)[0];
            return Enumerable.Range(0, (int)batch.Shape[0]).Select(i => pooled.Row(i).Values.ToArray()).ToList();
        }, cancellationToken);

    /// <summary>
    /// The features of every row (the pooled embedding, stage maps), one tensor per requested stage, in input order; a
    /// row that cannot be read is reported in its place.
    /// </summary>
    public IAsyncEnumerable<ItemResult<FeatureRow>> FeaturesManyAsync(IEnumerable<string> inputs, IReadOnlyList<FeatureStage> stages,
        BatchOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stages);
        var wanted = stages.ToArray();
        Engine.CheckStages(wanted);
        return RunAsync(inputs, options, progress, (batch, ct) =>
        {
            var outputs = Engine.Features(batch, wanted, ct);
            return Enumerable.Range(0, (int)batch.Shape[0])
                .Select(i => new FeatureRow(wanted, outputs.Select(o => Copy(o.Row(i))).ToArray())).ToList();
        }, cancellationToken);
    }

    /// <summary>
    /// The inputs expanded to files (folders recursed, each file once, special files and folders without images
    /// skipped with a note to <paramref name="skipped"/>). A path that does not exist stays in the list, so that it is
    /// reported in its place.
    /// </summary>
    /// <exception cref="Res2NetException">Nothing is left: the inputs are folders without images.</exception>
    public static IReadOnlyList<string> ExpandInputs(IEnumerable<string> inputs, Action<string>? skipped = null) =>
        ImageFiles.Expand(inputs, skipped, keepMissing: true);

    /// <inheritdoc/>
    public void Dispose()
    {
        Engine.Dispose();
        (explainer as IDisposable)?.Dispose();
    }

    private static FloatTensor Batch(FloatTensor image) => new(image.Values, [1, .. image.Shape]);

    private static FloatTensor Copy(FloatTensor t) => new(t.Values.ToArray(), t.ShapeArray());

    /// <summary>
    /// The pipeline: inputs are read (decoded and preprocessed, or a .npy opened) by up to DecodeThreads tasks at once,
    /// a bounded window ahead of the engine, and batches are run in input order as soon as their rows are ready.
    /// </summary>
    private async IAsyncEnumerable<ItemResult<T>> RunAsync<T>(IEnumerable<string> inputs, BatchOptions? options, IProgress<int>? progress,
        Func<FloatTensor, CancellationToken, IReadOnlyList<T>> compute, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new BatchOptions();
        options.Validate();
        var files = ExpandInputs(inputs);
        var batchSize = options.BatchSize;
        var decoders = options.ResolvedDecodeThreads;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(decoders);

        // Each input's rows, as a task, in input order; the channel's capacity bounds how far reading runs ahead.
        var window = Channel.CreateBounded<Task<List<Row>>>(new BoundedChannelOptions(Math.Max(2 * batchSize, 2 * decoders)) { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            try
            {
                foreach (var file in files)
                {
                    await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                    var read = Task.Run(() =>
                    {
                        try
                        {
                            return Read(file);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }, CancellationToken.None);
                    await window.Writer.WriteAsync(read, stop.Token).ConfigureAwait(false);
                }

                window.Writer.Complete();
            }
            catch (Exception e)
            {
                window.Writer.Complete(e);
            }
        }, CancellationToken.None);

        var pending = new List<Row>(batchSize);
        var done = 0;
        try
        {
            await foreach (var read in window.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                foreach (var row in await read.ConfigureAwait(false))
                {
                    pending.Add(row);
                    if (pending.Count(r => r.Input is not null) == batchSize)
                    {
                        foreach (var result in Compute(pending, compute, stop.Token))
                        {
                            yield return result;
                        }

                        done += pending.Count;
                        pending.Clear();
                        progress?.Report(done);
                        stop.Token.ThrowIfCancellationRequested();
                    }
                }
            }

            if (pending.Count > 0)
            {
                foreach (var result in Compute(pending, compute, stop.Token))
                {
                    yield return result;
                }

                done += pending.Count;
                progress?.Report(done);
            }

            await producer.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped early: the reads still running finish on their own and their rows are dropped.
            }
        }
    }

    private static List<ItemResult<T>> Compute<T>(List<Row> rows, Func<FloatTensor, CancellationToken, IReadOnlyList<T>> compute, CancellationToken cancellationToken)
    {
        var values = new List<T>(rows.Count);
        var good = rows.Where(r => r.Input is not null).ToList();

        // .npy rows may have another size than the photos: each run of equal shapes is its own forward pass.
        for (var start = 0; start < good.Count;)
        {
            var end = start + 1;
            while (end < good.Count && good[end].Input!.Shape.SequenceEqual(good[start].Input!.Shape))
            {
                end++;
            }

            values.AddRange(compute(FloatTensor.Stack(good.GetRange(start, end - start).Select(r => r.Input!).ToList()), cancellationToken));
            start = end;
        }

        var next = 0;
        return rows.Select(row => row.Input is null ? new ItemResult<T>(row.Item, default, row.Error) : new ItemResult<T>(row.Item, values[next++], null)).ToList();
    }

    /// <summary>The rows of one input: one for a photo, one per entry of a .npy batch, or one that says what is wrong.</summary>
    private List<Row> Read(string path)
    {
        if (IO.FileSystemEntry.Of(path).Kind == IO.EntryKind.Missing)
        {
            return [new Row(new InputItem(path, 0), null, $"{path}: no such file or folder.")];
        }

        try
        {
            if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            {
                var data = Npy.Read(path);
                var c = Engine.Metadata.InChannels;
                if (data.DType != DType.Float32 || data.Shape.Length != 4 || data.Shape[1] != c || data.Shape[0] < 1 || data.Shape[2] < 1 || data.Shape[3] < 1)
                {
                    return [new Row(new InputItem(path, 0), null, $"{path}: expected a float32 batch of shape (N, {c}, H, W) with N, H and W at least 1, got {data.DType} ({string.Join(", ", data.Shape)}).")];
                }

                var all = new FloatTensor(data.ToFloatArray(), data.Shape);
                return Enumerable.Range(0, (int)data.Shape[0]).Select(i => new Row(new InputItem(path, i), all.Row(i), null)).ToList();
            }

            return [new Row(new InputItem(path, 0), Preprocessor.Process(path), null)];
        }
        catch (Res2NetException e)
        {
            return [new Row(new InputItem(path, 0), null, e.Message)];
        }
    }

    private sealed record Row(InputItem Item, FloatTensor? Input, string? Error);
}
