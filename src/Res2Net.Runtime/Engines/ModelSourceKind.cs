namespace Res2Net.Engines;

/// <summary>What a <see cref="ModelSource"/> names.</summary>
public enum ModelSourceKind
{
    /// <summary>A registered model's published weights, downloaded once into the cache (needs the Res2Net package).</summary>
    Pretrained,

    /// <summary>A checkpoint file: PyTorch's .pth (zip or legacy) or .safetensors (needs the Res2Net package).</summary>
    Checkpoint,

    /// <summary>An ONNX file, such as one written by <c>res2net export</c> (Res2Net.Runtime alone runs it).</summary>
    Onnx,

    /// <summary>A registered architecture with freshly initialised weights, for timing and tests (needs the Res2Net package).</summary>
    Untrained,
}
