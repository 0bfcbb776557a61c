using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.AspNetCore;

/// <summary>
/// The shared, thread-safe classifier a service registers once: the engine loaded and warmed up in the background,
/// photos decoded and preprocessed on the callers' threads (at most <see cref="Res2NetServiceOptions.DecodeThreads"/>
/// at once), and the model fed in dynamic batches from one thread. Call it from any number of requests at once.
/// </summary>
public sealed class Res2NetClassifier : IDisposable
{
    private readonly Res2NetServiceOptions options;
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim decoding;
    private readonly SemaphoreSlim explaining = new(1, 1);
    private readonly CancellationTokenSource disposed = new();
    private IInferenceEngine? engine;
    private IClassActivationMapper? mapper;
    private ImagePreprocessor? preprocessor;
    private DynamicBatcher? batcher;
    private int explainWaiting;

    /// <summary>A classifier for <paramref name="options"/>; <see cref="Start"/> loads the model.</summary>
    public Res2NetClassifier(Res2NetServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        decoding = new SemaphoreSlim(options.DecodeThreads, options.DecodeThreads);
        Metrics = new ServiceMetrics(options.MaxBatch);
    }

    /// <summary>Completes once the model is loaded and warmed up; faults with the reason if it could not be loaded.</summary>
    public Task Ready => ready.Task;

    /// <summary>Whether requests are served (loaded, and not stopping).</summary>
    public bool IsReady => ready.Task.IsCompletedSuccessfully && !Draining;

    /// <summary>What the loaded model is for (classes, preprocessing); available once <see cref="Ready"/> completed.</summary>
    public ModelMetadata Metadata => Engine.Metadata;

    /// <summary>The preprocessing photos get (the model's own unless the options set another).</summary>
    public PreprocessConfig Preprocess => Preprocessor.Config;

    /// <summary>The engine's name ("onnx", "torch").</summary>
    public string EngineName => Engine.EngineName;

    /// <summary>The engine's number format ("fp32", "bf16", "int8").</summary>
    public string Precision => Engine.Precision;

    /// <summary>Whether <see cref="ExplainAsync"/> can compute Grad-CAM maps.</summary>
    public bool CanExplain => mapper is not null;

    /// <summary>The limits in force.</summary>
    public Res2NetServiceOptions Options => options;

    /// <summary>Set when the host is stopping: readiness turns off while the requests in flight finish.</summary>
    internal bool Draining { get; set; }

    internal ServiceMetrics Metrics { get; }

    private IInferenceEngine Engine => engine ?? throw NotReady();

    private ImagePreprocessor Preprocessor => preprocessor ?? throw NotReady();

    /// <summary>
    /// Loads the engine (and the class activation mapper, if any) and runs one warm-up batch; on the calling thread.
    /// <see cref="Ready"/> completes or faults with the outcome.
    /// </summary>
    public void Start(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        try
        {
            var loaded = options.Engine is not null ? options.Engine(services)
                : OnnxEngine.Open(options.OnnxFile!, new OnnxEngineOptions { Threads = options.Threads });
            engine = loaded;
            preprocessor = new ImagePreprocessor(options.Preprocess ?? loaded.Metadata.Preprocess, loaded.Metadata.InChannels);
            mapper = options.ClassActivationMapper?.Invoke(services);

            // The first passes allocate, pick kernels and pack weights: done now, not in the first user's request.
            var size = preprocessor.InputSize;
            var warm = new FloatTensor(new float[options.MaxBatch * loaded.Metadata.InChannels * size * size], options.MaxBatch, loaded.Metadata.InChannels, size, size);
            loaded.Logits(warm);
            loaded.Logits(new FloatTensor(warm.Values[..(loaded.Metadata.InChannels * size * size)], 1, loaded.Metadata.InChannels, size, size));
            batcher = new DynamicBatcher(loaded, options, Metrics);
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
    /// <param name="topk">Classes to return, 1 to the model's class count.</param>
    /// <param name="name">Names the photo in error messages.</param>
    /// <param name="cancellationToken">Drops the request (before the model if it has not reached it).</param>
    /// <exception cref="ImageDecodeException">The data is not an image, is damaged or too large.</exception>
    /// <exception cref="ServiceUnavailableException">The queue is full, the wait ran out, or the service is not ready.</exception>
    public async Task<Prediction> ClassifyAsync(ReadOnlyMemory<byte> image, int topk = 5, string name = "image", CancellationToken cancellationToken = default)
    {
        var classes = Metadata.NumClasses;
        if (classes == 0)
        {
            throw new InvalidOptionException("TopK", "cannot be served: the model has no classifier (it gives embeddings only)");
        }

        if (topk < 1 || topk > classes)
        {
            throw new InvalidOptionException("TopK", $"must be from 1 to {classes} (got {topk})");
        }

        var input = await PreprocessAsync(image, name, cancellationToken).ConfigureAwait(false);
        var logits = await Wait(Batcher.Enqueue(input, DynamicBatcher.Kind.Logits, cancellationToken), cancellationToken).ConfigureAwait(false);
        return InferenceEngineExtensions.TopK(new FloatTensor(logits.Values, 1, logits.Shape[0]), topk, Metadata.Label)[0];
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
        var embedding = await Wait(Batcher.Enqueue(input, DynamicBatcher.Kind.Embedding, cancellationToken), cancellationToken).ConfigureAwait(false);
        return embedding.Values.ToArray();
    }

    /// <summary>
    /// The Grad-CAM overlay of an encoded photo as a PNG of the photo's size, for <paramref name="classIndex"/> (null:
    /// the top class), with the class it shows. One map at a time; others wait, up to the queue's limit.
    /// </summary>
    /// <exception cref="GradCamUnavailableException">The service has no class activation mapper.</exception>
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

        if (Interlocked.Increment(ref explainWaiting) > options.MaxQueue)
        {
            Interlocked.Decrement(ref explainWaiting);
            Metrics.Rejected.WithLabels("queue_full").Inc();
            throw new ServiceUnavailableException($"The service is busy: {options.MaxQueue} heat maps are already waiting.", TimeSpan.FromSeconds(2));
        }

        try
        {
            var photo = await DecodeAsync(image, name, p => p, cancellationToken).ConfigureAwait(false);
            if (!await explaining.WaitAsync(options.Timeout, cancellationToken).ConfigureAwait(false))
            {
                Metrics.Rejected.WithLabels("timeout").Inc();
                throw new ServiceUnavailableException($"The request waited longer than {options.Timeout.TotalSeconds:0.#} s for the model.", TimeSpan.FromSeconds(2));
            }

            try
            {
                // Grad-CAM needs gradients: one synchronous call on one thread (TorchSharp's scopes are per thread).
                var cam = await Task.Run(() => explainer.Map(photo, classIndex), cancellationToken).ConfigureAwait(false);
                Metrics.Images.WithLabels("cam").Inc();
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

    /// <summary>Lets queued images finish, then releases the engine.</summary>
    public void Dispose()
    {
        if (disposed.IsCancellationRequested)
        {
            return;
        }

        disposed.Cancel();
        Draining = true;
        batcher?.Dispose();
        engine?.Dispose();
        (mapper as IDisposable)?.Dispose();
        decoding.Dispose();
        explaining.Dispose();
        disposed.Dispose();
    }

    /// <summary>What computes the maps: 503 while the model loads, the one 501 refusal when the service has none.</summary>
    internal IClassActivationMapper RequireExplainer()
    {
        if (engine is null)
        {
            throw NotReady();
        }

        return mapper ?? throw new GradCamUnavailableException(
            "Grad-CAM is not available here: it needs the model's weights on the torch engine, and this service runs an ONNX file.");
    }

    private DynamicBatcher Batcher => batcher ?? throw NotReady();

    private static ServiceUnavailableException NotReady() =>
        new("The model is still loading; try again in a few seconds.", TimeSpan.FromSeconds(2));

    /// <summary>Decodes (and with <paramref name="then"/>, preprocesses) a photo, at most DecodeThreads at once.</summary>
    private async Task<T> DecodeAsync<T>(ReadOnlyMemory<byte> image, string name, Func<DecodedImage, T> then, CancellationToken cancellationToken)
    {
        await decoding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return then(ImageDecoder.Decode(image.Span, name, options.MaxPixels));
        }
        catch (ImageDecodeException)
        {
            Metrics.Rejected.WithLabels("bad_image").Inc();
            throw;
        }
        finally
        {
            decoding.Release();
        }
    }

    private Task<FloatTensor> PreprocessAsync(ReadOnlyMemory<byte> image, string name, CancellationToken cancellationToken)
    {
        var processor = Preprocessor;
        return DecodeAsync(image, name, processor.Process, cancellationToken);
    }

    /// <summary>The batch's answer, or the caller's cancellation (the batcher drops the image if it has not run yet).</summary>
    private static Task<FloatTensor> Wait(Task<FloatTensor> result, CancellationToken cancellationToken) => result.WaitAsync(cancellationToken);
}
