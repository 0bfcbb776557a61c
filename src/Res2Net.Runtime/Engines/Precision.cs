namespace Res2Net.Engines;

/// <summary>The number format a model computes in.</summary>
public enum Precision
{
    /// <summary>float32 throughout: the reference numbers.</summary>
    Float32,

    /// <summary>
    /// bfloat16 weights and activations (float32's range, 8 bits of mantissa) on oneDNN's AVX-512 BF16 or AMX kernels,
    /// with batch norm folded in float32 first. Torch engine only, on CPUs that compute bfloat16 natively.
    /// </summary>
    BFloat16,

    /// <summary>8-bit integer activations and weights (an INT8 ONNX export, quantized with calibrated ranges). ONNX engine only.</summary>
    Int8,
}
