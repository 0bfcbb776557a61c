using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Imaging;

namespace Res2Net.AspNetCore;

/// <summary>
/// What <see cref="Res2NetServiceCollectionExtensions.AddRes2Net"/> serves and its limits. Set <see cref="OnnxFile"/>
/// (an export of this library, whose metadata says how to preprocess) or <see cref="Engine"/>; the rest has defaults.
/// </summary>
public sealed class Res2NetServiceOptions
{
    /// <summary>An ONNX file to serve with ONNX Runtime (no TorchSharp needed).</summary>
    public string? OnnxFile { get; set; }

    /// <summary>Makes the engine to serve instead of <see cref="OnnxFile"/> (for example a TorchSharp engine from the Res2Net package); the service owns and disposes it.</summary>
    public Func<IServiceProvider, IInferenceEngine>? Engine { get; set; }

    /// <summary>Makes what computes Grad-CAM maps for /v1/cam (the Res2Net package's GradCamExplainer); null: /v1/cam answers 501.</summary>
    public Func<IServiceProvider, IClassActivationMapper>? ClassActivationMapper { get; set; }

    /// <summary>Another photo transform than the one the model's metadata records.</summary>
    public PreprocessConfig? Preprocess { get; set; }

    /// <summary>Intra-op threads of the ONNX engine made from <see cref="OnnxFile"/>; null: every core.</summary>
    public int? Threads { get; set; }

    /// <summary>The most images run in one forward pass: requests that arrive together are coalesced up to this.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>How long the first image of a batch waits for others to join it.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Images waiting for the model beyond which requests are refused with 503 and Retry-After.</summary>
    public int MaxQueue { get; set; } = 64;

    /// <summary>The largest request body; larger ones get 413 without being read.</summary>
    public long MaxBodyBytes { get; set; } = 16L << 20;

    /// <summary>The largest image, in pixels (width times height), decoded; larger ones get 400. Bounds memory per request.</summary>
    public long MaxPixels { get; set; } = 50_000_000;

    /// <summary>How long a request may wait for the model before it is refused with 503.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Photos decoded and preprocessed at once, outside the model; default: one fewer than the cores, at least one.</summary>
    public int DecodeThreads { get; set; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>Serve the demo page at the root of the mapped endpoints.</summary>
    public bool DemoPage { get; set; } = true;

    /// <summary>Checks the values; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        Check(OnnxFile is not null || Engine is not null, nameof(OnnxFile), "or Engine must say what to serve");
        Check(OnnxFile is null || Engine is null, nameof(OnnxFile), "and Engine exclude each other");
        Check(Threads is null or (>= 1 and <= 1024), nameof(Threads), $"must be from 1 to 1024 (got {Threads})");
        Check(MaxBatch is >= 1 and <= 1024, nameof(MaxBatch), $"must be from 1 to 1,024 (got {MaxBatch})");
        Check(MaxDelay >= TimeSpan.Zero && MaxDelay <= TimeSpan.FromSeconds(10), nameof(MaxDelay), $"must be from 0 to 10 s (got {MaxDelay.TotalMilliseconds} ms)");
        Check(MaxQueue is >= 1 and <= 1_000_000, nameof(MaxQueue), $"must be from 1 to 1,000,000 (got {MaxQueue})");
        Check(MaxBodyBytes is >= 1024 and <= 1L << 30, nameof(MaxBodyBytes), $"must be from 1 KB to 1 GB (got {MaxBodyBytes:N0} bytes)");
        Check(MaxPixels is >= 1 and <= ImageDecoder.MaxPixels, nameof(MaxPixels), $"must be from 1 to {ImageDecoder.MaxPixels:N0} (got {MaxPixels:N0})");
        Check(Timeout > TimeSpan.Zero && Timeout <= TimeSpan.FromHours(1), nameof(Timeout), $"must be more than 0 and at most an hour (got {Timeout.TotalSeconds} s)");
        Check(DecodeThreads is >= 1 and <= 1024, nameof(DecodeThreads), $"must be from 1 to 1,024 (got {DecodeThreads})");

        static void Check(bool ok, string option, string problem)
        {
            if (!ok)
            {
                throw new InvalidOptionException(option, problem);
            }
        }
    }
}
