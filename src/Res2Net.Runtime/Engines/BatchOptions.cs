namespace Res2Net.Engines;

/// <summary>How <see cref="Predictor"/> runs many inputs.</summary>
public sealed record BatchOptions
{
    /// <summary>Rows per forward pass (default 16).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>
    /// Photos decoded and preprocessed at once, on the thread pool, while the engine runs the batch before; null: one
    /// fewer than the cores, at least one.
    /// </summary>
    public int? DecodeThreads { get; init; }

    /// <summary>Checks the values; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        if (BatchSize is < 1 or > 1 << 16)
        {
            throw new InvalidOptionException(nameof(BatchSize), $"must be from 1 to {1 << 16} (got {BatchSize})");
        }

        if (DecodeThreads is < 1 or > 1024)
        {
            throw new InvalidOptionException(nameof(DecodeThreads), $"must be from 1 to 1024 (got {DecodeThreads})");
        }
    }

    internal int ResolvedDecodeThreads => DecodeThreads ?? Math.Max(1, Environment.ProcessorCount - 1);
}
