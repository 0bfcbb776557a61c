namespace Res2Net.Engines;

/// <summary>Which runtime executes a model.</summary>
public enum EngineKind
{
    /// <summary>
    /// The fastest engine that computes the request exactly: ONNX Runtime for float32 (1.3-2x TorchSharp's float32
    /// on these models, docs/performance.md), TorchSharp for bfloat16 (ONNX Runtime has no bfloat16 kernels).
    /// </summary>
    Auto,

    /// <summary>TorchSharp (LibTorch): also the engine of training and Grad-CAM.</summary>
    Torch,

    /// <summary>ONNX Runtime, on an export of the model made on first use and cached (see <see cref="Caching.OnnxExportCache"/>).</summary>
    Onnx,
}
