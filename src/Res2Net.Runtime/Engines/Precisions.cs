namespace Res2Net.Engines;

/// <summary>The names of <see cref="Precision"/> and <see cref="EngineKind"/> values, and which precision runs where.</summary>
public static class Precisions
{
    /// <summary>
    /// The environment variable that hides this CPU's bfloat16 instructions from the library when set to 1, so that a
    /// machine with them takes the branch of one without (the second test pass does this; see docs/performance.md).
    /// </summary>
    public const string HideBFloat16Variable = "RES2NET_HIDE_BF16";

    /// <summary>Parses a precision name: fp32 (float32), bf16 (bfloat16) or int8.</summary>
    /// <exception cref="InvalidOptionException">The name is none of these.</exception>
    public static Precision Parse(string name) => name?.ToLowerInvariant() switch
    {
        "fp32" or "float32" => Precision.Float32,
        "bf16" or "bfloat16" => Precision.BFloat16,
        "int8" => Precision.Int8,
        _ => throw new InvalidOptionException(nameof(Precision), $"must be fp32, bf16 or int8 (got '{name}')"),
    };

    /// <summary>The short name: fp32, bf16 or int8.</summary>
    public static string Name(this Precision precision) => precision switch
    {
        Precision.BFloat16 => "bf16",
        Precision.Int8 => "int8",
        _ => "fp32",
    };

    /// <summary>Parses an engine name: auto, torch or onnx.</summary>
    /// <exception cref="InvalidOptionException">The name is none of these.</exception>
    public static EngineKind ParseEngine(string name) => name?.ToLowerInvariant() switch
    {
        "auto" => EngineKind.Auto,
        "torch" => EngineKind.Torch,
        "onnx" => EngineKind.Onnx,
        _ => throw new InvalidOptionException("Engine", $"must be auto, torch or onnx (got '{name}')"),
    };

    /// <summary>The short name: auto, torch or onnx.</summary>
    public static string Name(this EngineKind engine) => engine.ToString().ToLowerInvariant();

    /// <summary>
    /// Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX) and <see cref="HideBFloat16Variable"/> does
    /// not hide it. Without it oneDNN would emulate bfloat16, slower than float32 and no more accurate, so it is refused.
    /// </summary>
    public static bool CpuHasBFloat16 { get; } = Environment.GetEnvironmentVariable(HideBFloat16Variable) != "1"
        && ReadCpuFlags().Overlaps(["avx512_bf16", "amx_bf16"]);

    /// <summary>The engine <see cref="EngineKind.Auto"/> stands for with this precision: TorchSharp for bfloat16, else ONNX Runtime.</summary>
    public static EngineKind Resolve(EngineKind engine, Precision precision) =>
        engine != EngineKind.Auto ? engine : precision == Precision.BFloat16 ? EngineKind.Torch : EngineKind.Onnx;

    /// <summary>Throws one sentence when <paramref name="precision"/> cannot run on <paramref name="engine"/> on this CPU.</summary>
    /// <exception cref="InvalidOptionException">The combination cannot run here.</exception>
    public static void Check(Precision precision, EngineKind engine)
    {
        engine = Resolve(engine, precision);
        switch (precision)
        {
            case Precision.BFloat16 when engine == EngineKind.Onnx:
                throw new InvalidOptionException(nameof(Precision), "must be fp32 or int8 on the ONNX engine: ONNX Runtime has no bfloat16 convolution kernels for x86 CPUs (bf16 runs on the torch engine)");
            case Precision.BFloat16 when !CpuHasBFloat16:
                throw new InvalidOptionException(nameof(Precision), "must be fp32 on this CPU: bf16 needs AVX-512 BF16 or AMX instructions, and it has neither");
            case Precision.Int8 when engine == EngineKind.Torch:
                throw new InvalidOptionException(nameof(Precision), "must be fp32 or bf16 on the torch engine: int8 runs on the ONNX engine");
        }
    }

    private static HashSet<string> ReadCpuFlags()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? [] : line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
