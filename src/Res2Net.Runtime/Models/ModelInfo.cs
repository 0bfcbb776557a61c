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
            OutputStride = Config is Res2NetConfig r ? r.OutputStride : 32,
        };
    }

    /// <summary>
    /// The configuration to build: this model's, with another class count, input channel count, output stride (8, 16 or
    /// 32, for the ImageNet ResNet-style models) or block style. Checks the combination without building anything.
    /// </summary>
    /// <exception cref="InvalidOptionException">The model has no such form (for example a DLA model at output stride 8).</exception>
    public ModelConfig Configure(int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null)
    {
        var metadata = DefaultMetadata(numClasses, inChannels);
        var config = Config with { NumClasses = metadata.NumClasses, InChannels = metadata.InChannels };
        if (outputStride is null && style is null)
        {
            return config;
        }

        return config switch
        {
            Res2NetConfig { Stem: not StemType.Cifar } r => Checked(r with { OutputStride = outputStride ?? r.OutputStride, Style = style ?? r.Style }),
            Res2NetConfig r when outputStride is null || outputStride == r.OutputStride => r with { Style = style ?? r.Style },
            Res2NetConfig r => throw new InvalidOptionException("OutputStride", $"must be {r.OutputStride} for {Name}, a small-image model with a fixed layout"),
            DlaConfig when outputStride is null or 32 && style is null or BlockStyle.Official => config,
            DlaConfig => throw new InvalidOptionException(outputStride is null or 32 ? "Style" : "OutputStride",
                $"must be {(outputStride is null or 32 ? "Official" : "32")} for {Name}: DLA models have no dilated or mmdetection form"),
            _ => config,
        };
    }

    private static Res2NetConfig Checked(Res2NetConfig config)
    {
        config.Validate();
        return config;
    }
}
