namespace Res2Net.Engines;

/// <summary>
/// What to open: a registered model's published weights (<c>res2net50_26w_4s</c>, or <c>res2net50_26w_4s.in1k</c>
/// for a tag), a checkpoint file, an ONNX file, or an untrained architecture. <see cref="Predictor.OpenAsync(ModelSource, ModelOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>
/// opens any of them.
/// </summary>
public sealed record ModelSource
{
    private static readonly string[] CheckpointExtensions = [".pth", ".pt", ".bin", ".ckpt", ".safetensors"];

    private ModelSource(ModelSourceKind kind, string location, string? model, Models.ModelConfig? config = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        Kind = kind;
        Location = location;
        Model = model;
        Config = config;
    }

    /// <summary>What the source names.</summary>
    public ModelSourceKind Kind { get; }

    /// <summary>The registered name (with its tag, if any) or the file's path, as given.</summary>
    public string Location { get; }

    /// <summary>
    /// For a checkpoint, the registered model it is for (any alias); null takes the model the file records, else the
    /// one its shapes fit. For an ONNX file, the model it must record (null: any). For the other kinds, null.
    /// </summary>
    public string? Model { get; }

    /// <summary>For an untrained architecture of your own configuration, that configuration; null otherwise.</summary>
    public Models.ModelConfig? Config { get; }

    /// <summary>A registered model's published weights: its name or alias, or <c>name.tag</c> for weights other than its default.</summary>
    public static ModelSource Pretrained(string name) => new(ModelSourceKind.Pretrained, name, null);

    /// <summary>A checkpoint file; <paramref name="model"/> names the registered model it is for (null: what the file records or its shapes fit).</summary>
    public static ModelSource Checkpoint(string path, string? model = null) => new(ModelSourceKind.Checkpoint, path, model);

    /// <summary>
    /// An ONNX file (its metadata, when it was written by this library, says what it is); with <paramref name="model"/>,
    /// opening it checks that it records that registered model.
    /// </summary>
    public static ModelSource Onnx(string path, string? model = null) => new(ModelSourceKind.Onnx, path, model);

    /// <summary>A registered architecture with freshly initialised (random) weights: timm's <c>pretrained=False</c>, only when asked for.</summary>
    public static ModelSource Untrained(string model) => new(ModelSourceKind.Untrained, model, null);

    /// <summary>An architecture of your own configuration with freshly initialised weights (named after its family in messages).</summary>
    public static ModelSource Untrained(Models.ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new(ModelSourceKind.Untrained, $"a custom {config.GetType().Name}", null, config);
    }

    /// <summary>
    /// A source from text, as configuration files give it: a path ending in <c>.onnx</c> is an ONNX file; a path of
    /// a file that exists, or one ending in a checkpoint's extension (.pth, .pt, .bin, .ckpt, .safetensors), is a
    /// checkpoint; anything else is a registered model's published weights (<c>name</c> or <c>name.tag</c>).
    /// </summary>
    /// <param name="text">The ONNX file, checkpoint or registered model.</param>
    /// <param name="model">For a file, the registered model it is for (see <see cref="Model"/>); null: what the file records.</param>
    public static ModelSource Parse(string text, string? model = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return Onnx(text, model);
        }

        return File.Exists(text) || CheckpointExtensions.Any(e => text.EndsWith(e, StringComparison.OrdinalIgnoreCase)) ? Checkpoint(text, model) : Pretrained(text);
    }

    /// <summary>The location, as given.</summary>
    public override string ToString() => Location;
}
