namespace Res2Net.Engines;

/// <summary>Number format the engine computes in.</summary>
public enum Precision
{
    /// <summary>float32 throughout: the reference numbers.</summary>
    Float32,

    /// <summary>
    /// bfloat16 weights and activations (float32's range, 8 bits of mantissa), on oneDNN's AVX-512 BF16 / AMX kernels;
    /// batch norm is folded in float32 first. Torch engine only.
    /// </summary>
    BFloat16,
}

public static class Precisions
{
    /// <summary>Parses the command-line spelling: fp32 or bf16.</summary>
    public static Precision Parse(string name) => name.ToLowerInvariant() switch
    {
        "fp32" or "float32" => Precision.Float32,
        "bf16" or "bfloat16" => Precision.BFloat16,
        _ => throw new ArgumentException($"Unknown precision '{name}'; choose fp32 or bf16."),
    };

    public static string Name(this Precision p) => p == Precision.BFloat16 ? "bf16" : "fp32";

    /// <summary>
    /// Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX). Without it oneDNN would emulate bfloat16,
    /// slower than float32 and no more accurate, so the engines refuse it.
    /// </summary>
    public static bool CpuHasBFloat16 { get; } = ReadCpuFlags().Overlaps(["avx512_bf16", "amx_bf16"]);

    /// <summary>Throws a one-sentence error when <paramref name="precision"/> cannot run on <paramref name="engine"/> here.</summary>
    public static void Check(Precision precision, EngineKind engine)
    {
        if (precision == Precision.Float32)
        {
            return;
        }

        if (engine == EngineKind.Onnx)
        {
            throw new NotSupportedException("bf16 runs on the torch engine only: ONNX Runtime has no bfloat16 convolution kernels for x86 CPUs.");
        }

        if (!CpuHasBFloat16)
        {
            throw new NotSupportedException("bf16 needs a CPU with AVX-512 BF16 or AMX instructions, and this one has neither; use fp32.");
        }
    }

    private static HashSet<string> ReadCpuFlags()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? [] : line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
