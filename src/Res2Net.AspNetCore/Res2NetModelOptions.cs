using Res2Net.Engines;

namespace Res2Net.AspNetCore;

/// <summary>
/// One model the service serves, by name (named options: <c>IOptionsMonitor&lt;Res2NetModelOptions&gt;.Get(name)</c>),
/// bindable from configuration (<c>Res2Net:Models:NAME:Source</c>, or <c>Res2Net__Models__NAME__Source</c> in the
/// environment) and checked when the host starts. <see cref="Source"/> is what
/// <see cref="Predictor.OpenAsync(string, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/> opens.
/// </summary>
public sealed class Res2NetModelOptions
{
    /// <summary>
    /// What to serve: an ONNX file (written by <c>res2net export</c>; this package alone runs it), or, with the Res2Net
    /// package in the application, a checkpoint or a registered model's published weights (<c>res2net50_26w_4s</c>).
    /// </summary>
    public string? Source { get; set; }

    /// <summary>For a checkpoint, the registered model it is for; for an ONNX file, the model it must hold; null: what the file records.</summary>
    public string? Model { get; set; }

    /// <summary>The runtime; <see cref="EngineKind.Auto"/> picks the fastest exact one.</summary>
    public EngineKind Engine { get; set; } = EngineKind.Auto;

    /// <summary>The number format; null: the source's own.</summary>
    public Precision? Precision { get; set; }

    /// <summary>Intra-op threads of the engine; null: one per core.</summary>
    public int? Threads { get; set; }

    /// <summary>Another network input side than the model's recorded one.</summary>
    public int? InputSize { get; set; }

    /// <summary>Another centre-crop fraction than the model's recorded one.</summary>
    public double? CropPct { get; set; }

    /// <summary>
    /// The version the model answers as on the Open Inference Protocol (<c>/v2/models/NAME/versions/VERSION</c>): digits
    /// only; a Triton repository's version folder sets it; default "1".
    /// </summary>
    public string Version { get; set; } = "1";

    /// <summary>
    /// Offer the stage maps c2..c5 as protocol outputs of a checkpoint or registered model (an ONNX file offers the
    /// outputs it has). Off by default: a request that names no output gets every output the model offers.
    /// </summary>
    public bool StageOutputs { get; set; }

    /// <summary>Serve Grad-CAM maps on /v1/cam (loads a TorchSharp copy of the model: checkpoints and registered models only).</summary>
    public bool GradCam { get; set; }

    /// <summary>Where published weights and exports are kept; null: <c>$RES2NET_HOME</c>, else <c>~/.cache/res2net</c>.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>The most images run in one forward pass: requests that arrive together are coalesced up to this.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>How long the first image of a batch waits for others to join it.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Images waiting for the model beyond which requests are refused with 503 and Retry-After.</summary>
    public int MaxQueue { get; set; } = Limits.DefaultMaxQueue;

    /// <summary>How long a request may wait for the model before it is refused with 503.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(Limits.DefaultTimeoutSeconds);

    /// <summary>Opens the model instead of <see cref="Source"/> (this library's tests hold batches with it).</summary>
    internal Func<CancellationToken, Task<Predictor>>? Open { get; set; }

    /// <summary>
    /// Checks the values and that they apply to <see cref="Source"/> (the library's own rules, <see cref="ModelOptions.Validate"/>);
    /// <see cref="InvalidOptionException"/> names the first one out of range.
    /// </summary>
    public void Validate()
    {
        Check(Open is not null || !string.IsNullOrWhiteSpace(Source), nameof(Source), "must say what to serve (an ONNX file, a checkpoint or a registered model)");
        Check(MaxBatch is >= 1 and <= 1024, nameof(MaxBatch), $"must be from 1 to 1,024 (got {MaxBatch})");
        Check(MaxDelay >= TimeSpan.Zero && MaxDelay <= TimeSpan.FromSeconds(10), nameof(MaxDelay), $"must be from 0 to 10 s (got {MaxDelay.TotalMilliseconds} ms)");
        Check(MaxQueue is >= 1 and <= 1_000_000, nameof(MaxQueue), $"must be from 1 to 1,000,000 (got {MaxQueue})");
        Check(Version is { Length: >= 1 and <= 18 } && Version.All(char.IsAsciiDigit), nameof(Version), $"must be a version number, digits only (got '{Version}')");
        Check(Timeout > TimeSpan.Zero && Timeout <= TimeSpan.FromHours(1), nameof(Timeout), $"must be more than 0 and at most an hour (got {Timeout.TotalSeconds} s)");
        if (Source is not null)
        {
            ToModelOptions().Validate(ToSource());
        }
    }

    /// <summary>What <see cref="Source"/> and <see cref="Model"/> name.</summary>
    internal ModelSource ToSource() => ModelSource.Parse(Source!, Model);

    /// <summary>The library's options for opening <see cref="Source"/>.</summary>
    internal ModelOptions ToModelOptions() => new()
    {
        Engine = Engine,
        Precision = Precision,
        Threads = Threads,
        InputSize = InputSize,
        CropPct = CropPct,
        GradCam = GradCam,
        Cache = new ModelCacheOptions { Directory = CacheDirectory },
        // Between passes the cores decode the next photos.
        AllowSpinning = false,
    };

    private static void Check(bool ok, string option, string problem)
    {
        if (!ok)
        {
            throw new InvalidOptionException(option, problem);
        }
    }
}
