using System.Threading.Channels;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Engines;

/// <summary>One input row: an image file, or row <c>Index</c> of a .npy batch.</summary>
public readonly record struct InputItem(string Path, int Index);

/// <summary>The result for one input row, or why there is none (an image that could not be decoded, say).</summary>
public sealed record ItemResult<T>(InputItem Item, T? Value, string? Error)
{
    public bool Ok => Error is null;
}

/// <summary>One row's features: the values in C order and their shape ((C) for the embedding, (C, H, W) for a stage).</summary>
public sealed record FeatureRow(float[] Values, long[] Shape);

/// <summary>A classification: the top classes with their probabilities.</summary>
public sealed record Prediction(IReadOnlyList<ClassScore> Top)
{
    public ClassScore Best => Top[0];
}

/// <summary>
/// Photos in, predictions and embeddings out: a model, its weights and its preprocessing in one reusable object.
/// Batches decode on a background task while the previous batch runs, results come back in input order, a bad input
/// is reported in its place without stopping the others, and native memory is released batch by batch.
/// </summary>
public sealed class Predictor : IDisposable
{
    public Predictor(IInferenceEngine engine, ImagePreprocessor preprocessor)
    {
        Engine = engine;
        Preprocessor = preprocessor;
    }

    public IInferenceEngine Engine { get; }

    public ImagePreprocessor Preprocessor { get; }

    /// <summary>
    /// Loads a registered model: with <paramref name="weightsPath"/>, from that file; otherwise the published weights,
    /// downloaded once into the cache (<see cref="WeightsCache"/>).
    /// </summary>
    public static Predictor Load(string modelName, string? weightsPath = null, PreprocessConfig? preprocess = null, WeightsCache? cache = null,
        EngineKind engine = EngineKind.Torch, Precision precision = Precision.Float32)
    {
        Precisions.Check(precision, engine);
        var info = ModelRegistry.Get(modelName);
        if (weightsPath is null)
        {
            using var owned = cache is null ? new WeightsCache() : null;
            weightsPath = (cache ?? owned!).ResolveAsync(info, null).GetAwaiter().GetResult();
        }

        var loaded = InferenceEngines.Load(engine, info.Name, weightsPath, precision: precision);
        return new Predictor(loaded, new ImagePreprocessor(preprocess ?? info.Preprocess, loaded.InChannels));
    }

    /// <summary>Classifies one photo.</summary>
    public Prediction Predict(string imagePath, int topk = 5)
    {
        using var x = Preprocessor.Process(imagePath);
        using var batch = x.unsqueeze(0);
        return new Prediction(Engine.Classify(batch, topk)[0]);
    }

    /// <summary>The pooled embedding of each photo, in order.</summary>
    public float[][] Embed(IEnumerable<string> imagePaths, CancellationToken cancellation = default) =>
        Features(imagePaths, FeatureStage.Pooled, cancellation: cancellation)
            .Select(r => r.Ok ? r.Value!.Values : throw new ImageDecodeException(r.Error!)).ToArray();

    /// <summary>Classifies every row of every input (image files, folders of images, .npy batches), in input order.</summary>
    public IEnumerable<ItemResult<Prediction>> PredictMany(IEnumerable<string> inputs, int topk = 5, int batchSize = 16,
        IProgress<int>? progress = null, CancellationToken cancellation = default) =>
        Run(inputs, batchSize, progress, cancellation, batch => Engine.Classify(batch, topk).Select(t => new Prediction(t)).ToList());

    /// <summary>The pooled embedding or a stage's feature map of every row, flattened, in input order.</summary>
    public IEnumerable<ItemResult<FeatureRow>> Features(IEnumerable<string> inputs, FeatureStage stage, int batchSize = 16,
        IProgress<int>? progress = null, CancellationToken cancellation = default) =>
        Run(inputs, batchSize, progress, cancellation, batch =>
        {
            using var f = Engine.Features(batch, stage);
            var rows = (int)f.shape[0];
            var all = f.contiguous().data<float>().ToArray();
            var size = all.Length / Math.Max(rows, 1);
            var shape = f.shape.Skip(1).ToArray();
            return Enumerable.Range(0, rows).Select(i => new FeatureRow(all.AsSpan(i * size, size).ToArray(), shape)).ToList();
        });

    /// <summary>The inputs expanded to rows (folders recursed, .npy batches opened), without decoding images.</summary>
    /// <remarks>A path that does not exist stays in the list, so that it is reported in its place.</remarks>
    public static IReadOnlyList<string> ExpandInputs(IEnumerable<string> inputs) =>
        inputs.SelectMany(i => Directory.Exists(i) ? ImageFiles.Expand([i]) : [i]).ToList();

    public void Dispose() => Engine.Dispose();

    private IEnumerable<ItemResult<T>> Run<T>(IEnumerable<string> inputs, int batchSize, IProgress<int>? progress,
        CancellationToken cancellation, Func<Tensor, IReadOnlyList<T>> compute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var files = ExpandInputs(inputs);

        // Decoding (one batch ahead) overlaps the forward pass of the previous batch.
        var channel = Channel.CreateBounded<List<Row>>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var producer = Task.Run(() => Produce(files, batchSize, channel.Writer, stop.Token), stop.Token);
        var done = 0;
        try
        {
            while (channel.Reader.WaitToReadAsync(cancellation).AsTask().GetAwaiter().GetResult())
            {
                while (channel.Reader.TryRead(out var rows))
                {
                    foreach (var result in Compute(rows, compute))
                    {
                        yield return result;
                    }

                    done += rows.Count;
                    progress?.Report(done);
                }
            }

            producer.GetAwaiter().GetResult();
        }
        finally
        {
            stop.Cancel();
            try
            {
                producer.Wait(TimeSpan.FromSeconds(30));
            }
            catch (AggregateException)
            {
                // Cancelled or failed while we stop early: the error, if any, was already surfaced or is moot.
            }

            while (channel.Reader.TryRead(out var rest))
            {
                rest.ForEach(r => r.Tensor?.Dispose());
            }
        }
    }

    private static List<ItemResult<T>> Compute<T>(List<Row> rows, Func<Tensor, IReadOnlyList<T>> compute)
    {
        var results = new List<ItemResult<T>>(rows.Count);
        var values = new List<T>(rows.Count);
        var good = rows.Where(r => r.Tensor is not null).ToList();

        // .npy rows may have another size than the photos: each run of equal shapes is its own forward pass.
        for (var start = 0; start < good.Count;)
        {
            var end = start + 1;
            while (end < good.Count && good[end].Tensor!.shape.SequenceEqual(good[start].Tensor!.shape))
            {
                end++;
            }

            using var scope = NewDisposeScope();
            values.AddRange(compute(stack(good.Skip(start).Take(end - start).Select(r => r.Tensor!).ToList())));
            start = end;
        }

        var next = 0;
        foreach (var row in rows)
        {
            results.Add(row.Tensor is null ? new ItemResult<T>(row.Item, default, row.Error) : new ItemResult<T>(row.Item, values[next++], null));
            row.Tensor?.Dispose();
        }

        return results;
    }

    private async Task Produce(IReadOnlyList<string> files, int batchSize, ChannelWriter<List<Row>> writer, CancellationToken token)
    {
        var batch = new List<Row>(batchSize);
        try
        {
            foreach (var file in files)
            {
                foreach (var row in Rows(file))
                {
                    token.ThrowIfCancellationRequested();
                    batch.Add(row);
                    if (batch.Count == batchSize)
                    {
                        await writer.WriteAsync(batch, token).ConfigureAwait(false);
                        batch = new List<Row>(batchSize);
                    }
                }
            }

            if (batch.Count > 0)
            {
                await writer.WriteAsync(batch, token).ConfigureAwait(false);
            }

            writer.Complete();
        }
        catch (Exception e)
        {
            batch.ForEach(r => r.Tensor?.Dispose());
            writer.Complete(e);
        }
    }

    private IEnumerable<Row> Rows(string path)
    {
        if (!File.Exists(path))
        {
            yield return new Row(new InputItem(path, 0), null, $"{path}: no such file or folder.");
            yield break;
        }

        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            Tensor? all = null;
            string? error = null;
            try
            {
                var data = Npy.Read(path);
                var c = Engine.InChannels;
                if (data.DType != DType.Float32 || data.Shape.Length != 4 || data.Shape[1] != c)
                {
                    throw new ArgumentException($"{path}: expected a float32 batch of shape (N, {c}, H, W), got {data.DType} ({string.Join(", ", data.Shape)}).");
                }

                all = data.ToTensor();
            }
            catch (Exception e) when (e is CheckpointFormatException or IOException or ArgumentException or UnauthorizedAccessException)
            {
                error = e.Message;
            }

            if (all is null)
            {
                yield return new Row(new InputItem(path, 0), null, error);
                yield break;
            }

            using (all)
            {
                for (var i = 0; i < all.shape[0]; i++)
                {
                    yield return new Row(new InputItem(path, i), all[i].clone(), null);
                }
            }

            yield break;
        }

        Tensor? image = null;
        string? failure = null;
        try
        {
            image = Preprocessor.Process(path);
        }
        catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException)
        {
            failure = e.Message;
        }

        yield return new Row(new InputItem(path, 0), image, failure);
    }

    private sealed record Row(InputItem Item, Tensor? Tensor, string? Error);
}
