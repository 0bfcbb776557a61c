namespace Res2Net.AspNetCore;

/// <summary>The service has no class activation mapper (it serves an ONNX file, which has no gradients): HTTP answers 501.</summary>
public sealed class GradCamUnavailableException : Res2NetException
{
    /// <summary>The error, with its message.</summary>
    public GradCamUnavailableException(string message)
        : base(message)
    {
    }
}
