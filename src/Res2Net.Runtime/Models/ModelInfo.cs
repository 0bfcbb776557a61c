using Res2Net.Imaging;

namespace Res2Net.Models;

/// <summary>A registered, named model: its configuration plus what is known about it.</summary>
/// <param name="Name">The registered name (timm's where timm has the model).</param>
/// <param name="Aliases">Other names it is found under (the official repository's, timm's).</param>
/// <param name="Description">One line for people.</param>
/// <param name="Config">The architecture.</param>
/// <param name="Preprocess">The evaluation transform its weights were trained with.</param>
/// <param name="Weights">Where its published weights are, if any.</param>
/// <param name="Official">The published figures.</param>
public sealed record ModelInfo(
    string Name,
    IReadOnlyList<string> Aliases,
    string Description,
    ModelConfig Config,
    PreprocessConfig Preprocess,
    PretrainedWeights? Weights,
    OfficialFigures Official)
{
    /// <summary>The metadata of this model with its own class count, channels and preprocessing (ImageNet class names for 1,000 classes).</summary>
    public ModelMetadata DefaultMetadata(int? numClasses = null, int? inChannels = null)
    {
        var classes = numClasses ?? Config.NumClasses;
        var channels = inChannels ?? Config.InChannels;
        return new ModelMetadata
        {
            Model = Name,
            InChannels = channels,
            NumClasses = classes,
            ClassNames = classes == ImageNetLabels.All.Count ? ImageNetLabels.All : [],
            Preprocess = Preprocess.ForChannels(channels),
        };
    }
}
