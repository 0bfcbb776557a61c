namespace Res2Net.Weights;

/// <summary>The container of a weights file.</summary>
internal enum CheckpointContainer
{
    /// <summary>torch.save's zip format (PyTorch 1.6 and later).</summary>
    PyTorchZip,

    /// <summary>torch.save's legacy format: consecutive pickles, as the official Res2Net weights were published.</summary>
    PyTorchLegacy,

    /// <summary>Hugging Face's safetensors.</summary>
    SafeTensors,
}
