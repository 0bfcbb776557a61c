using Res2Net.Imaging;

namespace Res2Net.Explain;

/// <summary>
/// Computes where a model looked for a class in a photo (a class activation map such as Grad-CAM). The Res2Net package
/// implements it on TorchSharp, which has the gradients; services that only run ONNX files have none.
/// </summary>
internal interface IClassActivationMapper
{
    /// <summary>
    /// The map for <paramref name="classIndex"/> (null: the top class) over the whole photo, from the activations of
    /// <paramref name="stage"/> (null: the last).
    /// </summary>
    CamResult Map(DecodedImage photo, int? classIndex = null, Engines.FeatureStage? stage = null);
}
