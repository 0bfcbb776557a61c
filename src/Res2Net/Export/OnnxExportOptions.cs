using Res2Net.Engines;

namespace Res2Net.Export;

/// <summary>How a model is written to ONNX.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Lowest and highest opset the exporter writes (Split takes its sizes as an input from 13 on).</summary>
    public const int MinOpset = 13;

    /// <summary>The highest opset the exporter writes.</summary>
    public const int MaxOpset = 21;

    /// <summary>ONNX opset version.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>A fixed batch size, or null for a symbolic ("batch") dimension.</summary>
    public int? Batch { get; init; }

    /// <summary>A fixed input height, or null for a symbolic one.</summary>
    public int? Height { get; init; }

    /// <summary>A fixed input width, or null for a symbolic one.</summary>
    public int? Width { get; init; }

    /// <summary>A fixed square input side (sets <see cref="Height"/> and <see cref="Width"/>), or null when they differ or are symbolic.</summary>
    public int? Size
    {
        get => Height == Width ? Height : null;
        init => (Height, Width) = (value, value);
    }

    /// <summary>Also output the pooled embedding ("embedding", N x C) next to the logits.</summary>
    public bool Embedding { get; init; } = true;

    /// <summary>Also output the stage maps ("c2".."c5").</summary>
    public bool Stages { get; init; }

    /// <summary>
    /// End the graph after this many stages (1 to the model's count), with those stages as its only outputs and no head:
    /// ONNX Runtime runs every node of a graph whatever outputs are asked for, so dense-prediction code that needs the
    /// early stages only gets them at their own cost this way. Null: the whole model.
    /// </summary>
    public int? LastStage { get; init; }

    /// <summary>
    /// Run the s-1 independent 3x3 convolutions of a stage's first block as one grouped convolution
    /// (groups = (s-1) x cardinality) over the first (s-1)w channels, instead of a split and s-1 convolutions.
    /// </summary>
    public bool GroupFirstBlock { get; init; } = true;

    /// <summary>
    /// Zero-pad each Res2Net group to a multiple of 16 channels (26 to 32, 52 to 64, 104 to 112): ONNX Runtime runs a
    /// convolution in its fast blocked (NCHWc) layout only when its channel counts are multiples of 16. The padded
    /// channels hold zeros throughout, so outputs are unchanged. Off by default: on res2net50_26w_4s every convolution
    /// then runs blocked, but the 10% more multiply-accumulates and the extra reorders around Split/Concat cost as much
    /// as that gains (measured with 2 threads, batch 1 and 8).
    /// </summary>
    public bool PadGroups { get; init; }

    /// <summary>
    /// The number format of the graph: float32, or INT8 (QDQ: uint8 activations, int8 per-channel weights) with ranges
    /// measured on calibration inputs, which needs a fixed square <see cref="Size"/>.
    /// </summary>
    public Precision Precision { get; init; } = Precision.Float32;

    /// <summary>Checks the values; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        if (Opset is < MinOpset or > MaxOpset)
        {
            throw new InvalidOptionException(nameof(Opset), $"must be from {MinOpset} to {MaxOpset} (got {Opset})");
        }

        if (Batch is < 1)
        {
            throw new InvalidOptionException(nameof(Batch), $"must be at least 1 when fixed (got {Batch})");
        }

        if (LastStage is < 1 or > 4)
        {
            throw new InvalidOptionException(nameof(LastStage), $"must be from 1 to 4 stages (got {LastStage})");
        }

        foreach (var (name, side) in new[] { (nameof(Height), Height), (nameof(Width), Width) })
        {
            if (side is < 16 or > Limits.MaxInputSide)
            {
                throw new InvalidOptionException(name, $"must be from 16 to {Limits.MaxInputSide} pixels when fixed (got {side})");
            }
        }

        if (Precision is not (Precision.Float32 or Precision.Int8))
        {
            throw new InvalidOptionException(nameof(Precision), $"must be fp32 or int8 for an ONNX export (got {Precision.Name()})");
        }
    }

    /// <summary>A short text naming every option, for cache keys.</summary>
    public string Key => $"opset{Opset}-b{Batch?.ToString() ?? "n"}-h{Height?.ToString() ?? "n"}-w{Width?.ToString() ?? "n"}-e{(Embedding ? 1 : 0)}-st{(Stages ? 1 : 0)}{(LastStage is { } last ? $"-l{last}" : "")}-g{(GroupFirstBlock ? 1 : 0)}-p{(PadGroups ? 1 : 0)}-{Precision.Name()}";
}
