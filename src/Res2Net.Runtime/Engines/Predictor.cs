using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Res2Net.Imaging;
using Res2Net.Weights;

namespace Res2Net.Engines;

/// <summary>
/// Photos in, predictions and embeddings out: an engine and its preprocessing in one reusable, thread-safe object.
/// Many inputs are decoded in parallel while the engine runs the batch before, results come back in input order, and a
/// bad input is reported in its place without stopping the others.
/// </summary>
public sealed class Predictor : IDisposable
{
    /// <summary>Takes over <paramref name="engine"/> (disposed with the predictor).</summary>
    /// <param name="engine">The model to run.</param>
    /// <param name="preprocessor">The photo transform; default: the one the engine's metadata records.</param>
    public Predictor(IInferenceEngine engine, ImagePreprocessor? preprocessor = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Engine = engine;
        Preprocessor = preprocessor ?? new ImagePreprocessor(engine.Metadata.Preprocess, engine.Metadata.InChannels);
        if (Preprocessor.Channels != engine.Metadata.InChannels)
        {
            throw new InvalidOptionException("Preprocessor", $"makes {Preprocessor.Channels}-channel inputs but the model takes {engine.Metadata.InChannels}");
        }
    }

    /// <summary>The engine that runs the model.</summary>
    public IInferenceEngine Engine { get; }

    /// <summary>The photo transform.</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <summary>Opens an ONNX file (see <see cref="OnnxEngine.Open"/>) with the preprocessing its metadata records.</summary>
    public static Predictor Open(string onnxPath, OnnxEngineOptions? options = null) => new(OnnxEngine.Open(onnxPath, options));

    /// <summary>Classifies one photo file.</summary>
    public Prediction Predict(string imagePath, int topk = 5) => Engine.Classify(Batch(Preprocessor.Process(imagePath)), topk)[0];

    /// <summary>Classifies one encoded photo held in memory; <paramref name="name"/> names it in errors.</summary>
    public Prediction Predict(ReadOnlySpan<byte> encoded, int topk = 5, string name = "image") =>
        Engine.Classify(Batch(Preprocessor.Process(encoded, name)), topk)[0];

    /// <summary>Classifies one photo file, decoding and running on the thread pool.</summary>
    public Task<Prediction> PredictAsync(string imagePath, int topk = 5, CancellationToken cancellationToken = default) =>
        Task.Run(() => Predict(imagePath, topk), cancellationToken);

    /// <summary>Classifies one encoded photo held in memory, on the thread pool.</summary>
    public Task<Prediction> PredictAsync(ReadOnlyMemory<byte> encoded, int topk = 5, string name = "image", CancellationToken cancellationToken = default) =>
        Task.Run(() => Predict(encoded.Span, topk, name), cancellationToken);

    /// <summary>The pooled embedding of each photo, in order; the first photo that cannot be read stops it with its error.</summary>
    public async Task<float[][]> EmbedAsync(IEnumerable<string> imagePaths, BatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = new List<float[]>();
        await foreach (var r in FeaturesAsync(imagePaths, [FeatureStage.Pooled], options, null, cancellationToken).ConfigureAwait(false))
        {
            result.Add(r.Ok ? r.Value!.Values[0].Values.ToArray() : throw new Res2NetException(r.Error!));
        }

        return [.. result];
    }

    /// <summary>
    /// Classifies every row of every input (image files, folders of images, .npy batches), in input order. A row that
    /// cannot be read is an <see cref="ItemResult{T}"/> with its error, in its place; <paramref name="progress"/> hears
    /// the number of rows done after each batch.
    /// </summary>
    public IAsyncEnumerable<ItemResult<Prediction>> PredictManyAsync(IEnumerable<string> inputs, int topk = 5, BatchOptions? options = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (topk < 1)
        {
            throw new InvalidOptionException("TopK", $"must be at least 1 (got {topk})");
        }

        return RunAsync(inputs, options, progress, batch => Engine.Classify(batch, topk), cancellationToken);
    }

    /// <summary>The features of every row (the pooled embedding, stage maps), one tensor per requested stage, in input order.</summary>
    public IAsyncEnumerable<ItemResult<FeatureRow>> FeaturesAsync(IEnumerable<string> inputs, IReadOnlyList<FeatureStage> stages,
        BatchOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stages);
        var wanted = stages.ToArray();
        return RunAsync(inputs, options, progress, batch =>
        {
            var outputs = Engine.Features(batch, wanted);
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
    public void Dispose() => Engine.Dispose();

    private static FloatTensor Batch(FloatTensor image) => new(image.Values, [1, .. image.Shape]);

    private static FloatTensor Copy(FloatTensor t) => new(t.Values.ToArray(), t.ShapeArray());

    /// <summary>
    /// The pipeline: inputs are read (decoded and preprocessed, or a .npy opened) by up to DecodeThreads tasks at once,
    /// a bounded window ahead of the engine, and batches are run in input order as soon as their rows are ready.
    /// </summary>
    private async IAsyncEnumerable<ItemResult<T>> RunAsync<T>(IEnumerable<string> inputs, BatchOptions? options, IProgress<int>? progress,
        Func<FloatTensor, IReadOnlyList<T>> compute, [EnumeratorCancellation] CancellationToken cancellationToken = default)
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
                        foreach (var result in Compute(pending, compute))
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
                foreach (var result in Compute(pending, compute))
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

    private static List<ItemResult<T>> Compute<T>(List<Row> rows, Func<FloatTensor, IReadOnlyList<T>> compute)
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

            values.AddRange(compute(FloatTensor.Stack(good.GetRange(start, end - start).Select(r => r.Input!).ToList())));
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
