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
