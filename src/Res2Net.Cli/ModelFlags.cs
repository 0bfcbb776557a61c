using System.CommandLine;
using Res2Net.Engines;
using Res2Net.Models;

namespace Res2Net.Cli;

/// <summary>
/// The flags that say which model a command opens and how (--model, --weights, --onnx, --engine, --precision,
/// --threads, --size, --crop-pct, --output-stride, --block-style), spelled and described once, turned into the
/// library's <see cref="ModelSource"/> and <see cref="ModelOptions"/>; the library checks them and says what is wrong.
/// </summary>
internal sealed class ModelFlags
{
    private readonly bool untrained;

    private ModelFlags(bool form, bool preprocessing, bool onnx, bool threads, bool modelRequired, bool engine, bool untrained)
    {
        this.untrained = untrained;
        Model = Options.Model(required: modelRequired);
        if (!modelRequired)
        {
            Model.Description = "Registered model name or alias (see 'res2net models'); with --onnx, the model the file must hold.";
        }

        Weights = Options.Weights(required: false);
        Onnx = onnx ? new Option<string>("--onnx")
        {
            Description = "Run this ONNX file with ONNX Runtime (written by 'export', INT8 ones included): its own metadata sets the classes and the preprocessing.",
        } : null;
        Engine = engine ? Options.Engine() : null;
        Precision = engine ? Options.Precision() : null;
        Threads = threads ? new Option<int?>("--threads", "-t") { Description = "Intra-op threads of the engine (default: one per core)." } : null;
        if (preprocessing)
        {
            Size = Options.Size();
            CropPct = Options.CropPct();
        }

        if (form)
        {
            OutputStride = Options.OutputStride();
            BlockStyle = Options.BlockStyle();
        }
    }

    public Option<string> Model { get; }

    public Option<string> Weights { get; }

    public Option<string>? Onnx { get; }

    public Option<string>? Engine { get; }

    public Option<string?>? Precision { get; }

    public Option<int?>? Threads { get; }

    public Option<int?>? Size { get; }

    public Option<double?>? CropPct { get; }

    public Option<int?>? OutputStride { get; }

    public Option<string?>? BlockStyle { get; }

    /// <summary>The flags of a command that opens a model for inference.</summary>
    /// <param name="form">Whether --output-stride and --block-style apply.</param>
    /// <param name="preprocessing">Whether --size and --crop-pct apply.</param>
    /// <param name="onnx">Whether --onnx applies.</param>
    /// <param name="threads">Whether --threads applies.</param>
    /// <param name="engine">Whether --engine and --precision apply (without them, the torch engine in float32: Grad-CAM's).</param>
    /// <param name="untrained">Whether --model alone means fresh weights (timing: nothing is downloaded) rather than the published ones.</param>
    public static ModelFlags Create(bool form = false, bool preprocessing = true, bool onnx = true, bool threads = false, bool engine = true,
        bool untrained = false) =>
        new(form, preprocessing, onnx, threads, modelRequired: !onnx, engine, untrained);

    /// <summary>Adds the flags to a command.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option?[] { Model, Weights, Onnx, Engine, Precision, Threads, Size, CropPct, OutputStride, BlockStyle })
        {
            if (option is not null)
            {
                command.Options.Add(option);
            }
        }
    }

    /// <summary>What the flags name: --onnx FILE, --weights FILE (for --model), or --model's published (or, for timing, fresh) weights.</summary>
    public ModelSource Source(ParseResult parse)
    {
        var model = parse.GetValue(Model);
        var onnx = Onnx is null ? null : parse.GetValue(Onnx);
        var weights = parse.GetValue(Weights);
        if (onnx is not null && weights is not null)
        {
            throw new InvalidOptionException("--onnx", "and --weights exclude each other (an ONNX file carries its weights)");
        }

        if (onnx is null && model is null)
        {
            throw new UsageException("Option '--model' is required (or --onnx FILE).");
        }

        return onnx is not null ? ModelSource.Onnx(onnx, model)
            : weights is not null ? ModelSource.Checkpoint(weights, model)
            : untrained ? ModelSource.Untrained(model!) : ModelSource.Pretrained(model!);
    }

    /// <summary>The library's options from the flags.</summary>
    public ModelOptions Settings(ParseResult parse, IReadOnlyList<FeatureStage>? outputs = null, bool gradCam = false, int? inputSize = null) => new()
    {
        Engine = Engine is null ? EngineKind.Torch : Precisions.ParseEngine(parse.GetValue(Engine)!),
        Precision = Precision is not null && parse.GetValue(Precision) is { } p ? Precisions.Parse(p) : null,
        Threads = Threads is null ? null : parse.GetValue(Threads),
        InputSize = inputSize ?? (Size is null ? null : parse.GetValue(Size)),
        CropPct = CropPct is null ? null : parse.GetValue(CropPct),
        OutputStride = OutputStride is null ? null : parse.GetValue(OutputStride),
        BlockStyle = BlockStyle is null ? null : Cli.Options.ParseBlockStyle(parse.GetValue(BlockStyle)),
        Outputs = outputs,
        GradCam = gradCam,
    };

    /// <summary>Opens the model the flags name, with a download bar (and the weights' license) when published weights are fetched.</summary>
    public async Task<Predictor> OpenAsync(ParseResult parse, CancellationToken cancellationToken, IReadOnlyList<FeatureStage>? outputs = null,
        bool gradCam = false, int? inputSize = null)
    {
        var source = Source(parse);
        var options = Settings(parse, outputs, gradCam, inputSize);
        using var download = new DownloadReport(source);
        return await Predictor.OpenAsync(source, options, download, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the tool says while published weights download: where to, under which license, and how far.</summary>
    internal sealed class DownloadReport(ModelSource source) : IProgress<DownloadProgress>, IDisposable
    {
        private Progress? bar;

        public void Report(DownloadProgress value)
        {
            if (bar is null)
            {
                var (_, weights) = ModelRegistry.GetPretrained(source.Location);
                StdErr.Line($"res2net: downloading {weights.FileName} into {new ModelCacheOptions().ResolvedDirectory()}; "
                    + $"the weights are licensed {weights.License} ({weights.LicenseTerms}): {weights.LicenseUrl}");
                bar = Progress.Download(weights.FileName);
            }

            bar.Report(value.BytesReceived, value.TotalBytes);
        }

        public void Dispose() => bar?.Dispose();
    }
}
