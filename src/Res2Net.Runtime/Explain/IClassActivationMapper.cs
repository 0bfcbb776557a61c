using Res2Net.Imaging;

namespace Res2Net.Explain;

/// <summary>
/// Computes where a model looked for a class in a photo (a class activation map such as Grad-CAM). The Res2Net package
/// implements it on TorchSharp, which has the gradients; services that only run ONNX files have none.
/// </summary>
public interface IClassActivationMapper
{
    /// <summary>The map for <paramref name="classIndex"/> (null: the top class) over the whole photo.</summary>
    CamResult Map(DecodedImage photo, int? classIndex = null);
}
