namespace Res2Net.Engines;

/// <summary>Which runtime executes a model.</summary>
public enum EngineKind
{
    /// <summary>
    /// The fastest engine that computes the request exactly: ONNX Runtime for float32 and INT8, TorchSharp for
    /// bfloat16 (ONNX Runtime has no bfloat16 convolutions on x86 CPUs). docs/performance.md has the measurements.
    /// </summary>
    Auto,

    /// <summary>TorchSharp (LibTorch), in the Res2Net package: also the engine of training and Grad-CAM.</summary>
    Torch,

    /// <summary>ONNX Runtime: an ONNX file, or an export of a checkpoint made on first use and cached.</summary>
    Onnx,
}
