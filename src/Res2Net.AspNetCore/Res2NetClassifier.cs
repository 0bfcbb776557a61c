using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.AspNetCore;

/// <summary>
/// One model the service serves, shared and thread-safe: opened and warmed up in the background when the host starts,
/// photos decoded and preprocessed on the callers' threads (at most <see cref="Res2NetServiceOptions.DecodeThreads"/>
/// at once across the service), and the model fed in dynamic batches from one thread of its own. Call it from any
/// number of requests at once.
/// </summary>
public sealed class Res2NetClassifier : IDisposable
{
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim decoding;
    private readonly SemaphoreSlim explaining = new(1, 1);
    private readonly CancellationTokenSource disposed = new();
    private Predictor? predictor;
    private DynamicBatcher? batcher;
    private int explainWaiting;
    private Protocol.ProtocolModel? description;

    internal Res2NetClassifier(string name, Res2NetModelOptions options, Res2NetServiceOptions service, ServiceMetrics metrics, SemaphoreSlim decoding)
    {
        Name = name;
        Options = options;
        Service = service;
        Metrics = metrics;
        this.decoding = decoding;
    }

    /// <summary>The name the model is served under.</summary>
    public string Name { get; }

    /// <summary>Completes once the model is loaded and warmed up; faults with the reason if it could not be loaded.</summary>
    public Task Ready => ready.Task;

    /// <summary>Whether requests are served (loaded, and not stopping).</summary>
    public bool IsReady => ready.Task.IsCompletedSuccessfully && !Draining;

    /// <summary>What the loaded model is for (classes, preprocessing, license); available once <see cref="Ready"/> completed.</summary>
    public ModelMetadata Metadata => Predictor.Metadata;

    /// <summary>The preprocessing photos get (the model's own unless the options set another).</summary>
    public PreprocessConfig Preprocess => Predictor.Preprocessor.Config;

    /// <summary>The engine that runs the model.</summary>
    public EngineKind EngineKind => Predictor.EngineKind;

    /// <summary>The engine's number format.</summary>
    public Precision Precision => Predictor.Precision;

    /// <summary>The feature outputs the model gives (the pooled embedding, stage maps).</summary>
    public IReadOnlyList<FeatureStage> FeatureStages => Predictor.FeatureStages;

    /// <summary>Whether <see cref="ExplainAsync"/> can compute Grad-CAM maps.</summary>
    public bool CanExplain => predictor?.CanExplain == true;

    /// <summary>
    /// Whether the stage maps c2..c5 are protocol outputs: asked for (<see cref="Res2NetModelOptions.StageOutputs"/>), or
    /// an ONNX file that has them.
    /// </summary>
    internal bool OffersStageMaps => Options.StageOutputs || (Options.Open is null && Options.ToSource().Kind == ModelSourceKind.Onnx);

    /// <summary>The model's options in force.</summary>
    public Res2NetModelOptions Options { get; }

    /// <summary>The service's limits in force.</summary>
    internal Res2NetServiceOptions Service { get; }

    /// <summary>Set when the host is stopping: readiness turns off while the requests in flight finish.</summary>
    internal bool Draining { get; set; }

    internal ServiceMetrics Metrics { get; }

    private Predictor Predictor => predictor ?? throw NotReady();

    private DynamicBatcher Batcher => batcher ?? throw NotReady();

    /// <summary>
    /// Opens the model (with <see cref="Predictor.OpenAsync(string, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>,
    /// or the options' own opener) and runs one warm-up batch and one warm-up image. <see cref="Ready"/> completes or
    /// faults with the outcome.
    /// </summary>
    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var opened = Options.Open is { } open ? await open(cancellationToken).ConfigureAwait(false)
                : await Predictor.OpenAsync(Options.ToSource(), Options.ToModelOptions(), cancellationToken: cancellationToken).ConfigureAwait(false);
            predictor = opened;

            // The first passes allocate, pick kernels and pack weights: done now, not in the first user's request.
            var (size, channels) = (opened.Preprocessor.InputSize, opened.Metadata.InChannels);
            var warm = new FloatTensor(new float[Options.MaxBatch * channels * size * size], Options.MaxBatch, channels, size, size);
            opened.Logits(warm, cancellationToken);

            // The second pass, of one image, also gives the shapes of the protocol's outputs.
            var one = new FloatTensor(warm.Values[..(channels * size * size)], 1, channels, size, size);
            var offered = opened.FeatureStages.Where(s => s == FeatureStage.Pooled || OffersStageMaps).ToArray();
            var logits = opened.Metadata.NumClasses > 0;
            var rows = logits || offered.Length > 0 ? opened.Outputs(one, logits, offered, cancellationToken) : [];
            description = new Protocol.ProtocolModel(Name, Options, opened, offered, rows);
            batcher = new DynamicBatcher(opened, Name, Options, Metrics);
            ready.TrySetResult();
        }
        catch (Exception e)
        {
            ready.TrySetException(e);
            throw;
        }
    }

    /// <summary>The top <paramref name="topk"/> classes of an encoded photo (JPEG, PNG, BMP, GIF, WebP).</summary>
    /// <param name="image">The encoded photo.</param>
    /// <param name="topk">Classes to return, at least one (all of them when the model has fewer).</param>
    /// <param name="name">Names the photo in error messages.</param>
    /// <param name="cancellationToken">Drops the request (before the model if it has not reached it).</param>
    /// <exception cref="ImageDecodeException">The data is not an image, is damaged or too large.</exception>
    /// <exception cref="ServiceUnavailableException">The queue is full, the wait ran out, or the service is not ready.</exception>
    public async Task<Prediction> ClassifyAsync(ReadOnlyMemory<byte> image, int topk = 5, string name = "image", CancellationToken cancellationToken = default)
    {
        Prediction.CheckTopK(topk);
        if (Metadata.NumClasses == 0)
        {
            throw new InvalidOptionException("TopK", "cannot be served: the model has no classifier (it gives embeddings only)");
        }

        var logits = await LogitsAsync(await PreprocessAsync(image, name, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return Prediction.TopK(new FloatTensor(logits.Values, 1, logits.Shape[0]), topk, Metadata.Label)[0];
    }

    /// <summary>The pooled embedding (the features before the classifier) of an encoded photo.</summary>
    /// <param name="image">The encoded photo.</param>
    /// <param name="name">Names the photo in error messages.</param>
    /// <param name="cancellationToken">Drops the request.</param>
    /// <exception cref="ImageDecodeException">The data is not an image, is damaged or too large.</exception>
    /// <exception cref="ServiceUnavailableException">The queue is full, the wait ran out, or the service is not ready.</exception>
    public async Task<float[]> EmbedAsync(ReadOnlyMemory<byte> image, string name = "image", CancellationToken cancellationToken = default)
    {
        var input = await PreprocessAsync(image, name, cancellationToken).ConfigureAwait(false);
        var embedding = await Batcher.Enqueue(input, logits: false, [FeatureStage.Pooled], "embed", null, cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        return embedding[0].Values.ToArray();
    }

    /// <summary>
    /// The Grad-CAM overlay of an encoded photo as a PNG of the photo's size, for <paramref name="classIndex"/> (null:
    /// the top class), with the class it shows. One map at a time; others wait, up to the queue's limit.
    /// </summary>
    /// <exception cref="GradCamUnavailableException">The model was not opened for Grad-CAM.</exception>
    /// <exception cref="ImageDecodeException">The data is not an image, is damaged or too large.</exception>
    /// <exception cref="ServiceUnavailableException">Too many maps are waiting, or the service is not ready.</exception>
    public async Task<(byte[] Png, CamResult Cam)> ExplainAsync(ReadOnlyMemory<byte> image, int? classIndex = null, string name = "image",
        CancellationToken cancellationToken = default)
    {
        var explainer = RequireExplainer();
        if (classIndex is { } k && (k < 0 || k >= Metadata.NumClasses))
        {
            throw new InvalidOptionException("ClassIndex", $"must be from 0 to {Metadata.NumClasses - 1} (got {k})");
        }

        if (Interlocked.Increment(ref explainWaiting) > Options.MaxQueue)
        {
            Interlocked.Decrement(ref explainWaiting);
            Metrics.Rejected.WithLabels("queue_full", Name).Inc();
            throw new ServiceUnavailableException($"The service is busy: {Options.MaxQueue} heat maps are already waiting.", TimeSpan.FromSeconds(2));
        }

        try
        {
            var photo = await DecodeAsync(image, name, p => p, cancellationToken).ConfigureAwait(false);
            if (!await explaining.WaitAsync(Options.Timeout, cancellationToken).ConfigureAwait(false))
            {
                Metrics.Rejected.WithLabels("timeout", Name).Inc();
                throw new ServiceUnavailableException($"The request waited longer than {Options.Timeout.TotalSeconds:0.#} s for the model.", TimeSpan.FromSeconds(2));
            }

            try
            {
                // Grad-CAM needs gradients: one synchronous call on a thread of the pool (TorchSharp's scopes are per thread).
                var cam = await Task.Run(() => explainer.Explain(photo, classIndex), cancellationToken).ConfigureAwait(false);
                Metrics.Images.WithLabels("cam", Name).Inc();
                return (CamRenderer.EncodePng(photo, cam), cam);
            }
            finally
            {
                explaining.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref explainWaiting);
        }
    }

    /// <summary>Lets queued images finish, then releases the model.</summary>
    public void Dispose()
    {
        if (disposed.IsCancellationRequested)
        {
            return;
        }

        disposed.Cancel();
        Draining = true;
        batcher?.Dispose();
        predictor?.Dispose();
        explaining.Dispose();
        disposed.Dispose();
    }

    /// <summary>The one row of logits of a preprocessed image, through the batching queue.</summary>
    internal async Task<FloatTensor> LogitsAsync(FloatTensor input, CancellationToken cancellationToken) =>
        (await Batcher.Enqueue(input, logits: true, [], "classify", null, cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// The rows of the outputs asked for (the logits when <paramref name="logits"/> is set, then each stage) of one
    /// preprocessed image, through the batching queue: what a protocol request runs.
    /// </summary>
    internal Task<IReadOnlyList<FloatTensor>> RunAsync(FloatTensor input, bool logits, IReadOnlyList<FeatureStage> stages, TimeSpan? timeout,
        CancellationToken cancellationToken) =>
        Batcher.Enqueue(input, logits, stages, "infer", timeout, cancellationToken).WaitAsync(cancellationToken);

    /// <summary>The model as the Open Inference Protocol describes it (made when the model is loaded).</summary>
    internal Protocol.ProtocolModel Protocol => description ?? throw NotReady();

    /// <summary>What computes the maps: 503 while the model loads, the one 501 refusal when the model has none.</summary>
    internal Predictor RequireExplainer()
    {
        var opened = Predictor;
        return opened.CanExplain ? opened : throw new GradCamUnavailableException(
            "Grad-CAM is not available here: it needs the model's weights on the torch engine (GradCam), and this model was opened without them.");
    }

    private static ServiceUnavailableException NotReady() =>
        new("The model is still loading; try again in a few seconds.", TimeSpan.FromSeconds(2));

    /// <summary>Decodes (and with <paramref name="then"/>, preprocesses) a photo, at most DecodeThreads at once across the service.</summary>
    internal async Task<T> DecodeAsync<T>(ReadOnlyMemory<byte> image, string name, Func<DecodedImage, T> then, CancellationToken cancellationToken)
    {
        await decoding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return then(ImageDecoder.Decode(image.Span, name, Service.MaxPixels));
        }
        catch (ImageDecodeException)
        {
            Metrics.Rejected.WithLabels("bad_image", Name).Inc();
            throw;
        }
        finally
        {
            decoding.Release();
        }
    }

    /// <summary>A photo decoded and preprocessed as the model's metadata says.</summary>
    internal Task<FloatTensor> PreprocessAsync(ReadOnlyMemory<byte> image, string name, CancellationToken cancellationToken)
    {
        var processor = Predictor.Preprocessor;
        return DecodeAsync(image, name, processor.Process, cancellationToken);
    }
}
