namespace Res2Net.AspNetCore;

/// <summary>
/// The limits of the HTTP service as a whole (each model has its own <see cref="Res2NetModelOptions"/>): bindable from
/// configuration (<c>Res2Net:MaxBodyBytes</c>) and checked when the host starts.
/// </summary>
public sealed class Res2NetServiceOptions
{
    /// <summary>The largest request body; larger ones get 413 without being read.</summary>
    public long MaxBodyBytes { get; set; } = Limits.DefaultMaxBodyBytes;

    /// <summary>The largest image, in pixels (width times height), decoded; larger ones get 400. Bounds memory per request.</summary>
    public long MaxPixels { get; set; } = Limits.DefaultServicePixels;

    /// <summary>Photos decoded and preprocessed at once, outside the models; default: one fewer than the cores, at least one.</summary>
    public int DecodeThreads { get; set; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>The most photos one request may carry (multipart fields on /v1, BYTES elements on /v2); more get 400.</summary>
    public int MaxImagesPerRequest { get; set; } = Limits.DefaultMaxImagesPerRequest;

    /// <summary>Serve the demo page at the root of the mapped endpoints.</summary>
    public bool DemoPage { get; set; } = true;

    /// <summary>Checks the values; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        Check(MaxBodyBytes is >= 1024 and <= 1L << 30, nameof(MaxBodyBytes), $"must be from 1 KB to 1 GB (got {MaxBodyBytes:N0} bytes)");
        Check(MaxPixels is >= 1 and <= Limits.MaxImagePixels, nameof(MaxPixels), $"must be from 1 to {Limits.MaxImagePixels:N0} (got {MaxPixels:N0})");
        Check(MaxImagesPerRequest is >= 1 and <= 4096, nameof(MaxImagesPerRequest), $"must be from 1 to 4,096 (got {MaxImagesPerRequest})");
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
