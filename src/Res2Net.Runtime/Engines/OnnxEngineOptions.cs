namespace Res2Net.Engines;

/// <summary>How the ONNX engine runs its model.</summary>
public sealed record OnnxEngineOptions
{
    /// <summary>Intra-op threads of ONNX Runtime; null lets it use one per physical core.</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Whether ONNX Runtime's worker threads spin while they wait for work (its default). Off, they sleep, which leaves
    /// the cores to other work of the process (photo decoding) between passes.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;
}
