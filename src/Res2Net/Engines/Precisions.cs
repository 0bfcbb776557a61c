namespace Res2Net.Engines;

/// <summary>Names of <see cref="Precision"/> values, and where each can run.</summary>
public static class Precisions
{
    /// <summary>Parses a name: fp32 (float32) or bf16 (bfloat16).</summary>
    public static Precision Parse(string name) => name?.ToLowerInvariant() switch
    {
        "fp32" or "float32" => Precision.Float32,
        "bf16" or "bfloat16" => Precision.BFloat16,
        _ => throw new InvalidOptionException(nameof(Precision), $"must be fp32 or bf16 (got '{name}')"),
    };

    /// <summary>The short name: fp32 or bf16.</summary>
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
            throw new InvalidOptionException(nameof(Precision), "must be fp32 on the ONNX engine: ONNX Runtime has no bfloat16 convolution kernels for x86 CPUs (bf16 runs on the torch engine)");
        }

        if (!CpuHasBFloat16)
        {
            throw new InvalidOptionException(nameof(Precision), "must be fp32 on this CPU: bf16 needs AVX-512 BF16 or AMX instructions, and it has neither");
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
