using Res2Net.Imaging;

namespace Res2Net.Models;

/// <summary>
/// A registered architecture: its configuration, what is known about it, and the weights published for it
/// (<see cref="Pretrained"/>), which are kept apart from the architecture as timm keeps its pretrained configurations.
/// </summary>
/// <param name="Name">The registered name (timm's where timm has the model).</param>
/// <param name="Aliases">Other names it is found under (the official repository's, timm's).</param>
/// <param name="Description">One line for people.</param>
/// <param name="Config">The architecture.</param>
/// <param name="Preprocess">The transform it is trained and evaluated with when no weights say otherwise.</param>
/// <param name="Pretrained">The published weights, the default first; empty when there are none.</param>
/// <param name="Official">The architecture's published figures.</param>
public sealed record ModelInfo(
    string Name,
    IReadOnlyList<string> Aliases,
    string Description,
    ModelConfig Config,
    PreprocessConfig Preprocess,
    IReadOnlyList<PretrainedConfig> Pretrained,
    OfficialFigures Official)
{
    /// <summary>
    /// The published weights tagged <paramref name="tag"/>, or the default ones (the first) for null.
    /// </summary>
    /// <exception cref="UnknownModelException">The model has no published weights, or none with that tag.</exception>
    public PretrainedConfig GetPretrained(string? tag = null)
    {
        if (Pretrained.Count == 0)
        {
            throw new UnknownModelException($"{Name} has no published weights; train it, or open a checkpoint of your own.", Name, []);
        }

        return tag is null ? Pretrained[0]
            : Pretrained.FirstOrDefault(p => string.Equals(p.Tag, tag, StringComparison.OrdinalIgnoreCase))
              ?? throw new UnknownModelException($"{Name} has no weights tagged '{tag}' (it has {string.Join(", ", Pretrained.Select(p => p.Tag))}).",
                  $"{Name}.{tag}", [.. Pretrained.Select(p => p.Name)]);
    }

    /// <summary>
    /// The metadata of this architecture without published weights (trained from scratch, or freshly initialised):
    /// its own class count, channels and transform, ImageNet's class names for 1,000 classes, no license.
    /// </summary>
    public ModelMetadata DefaultMetadata(int? numClasses = null, int? inChannels = null)
    {
        var config = Config.With(numClasses, inChannels);
        return new ModelMetadata
        {
            Model = Name,
            InChannels = config.InChannels,
            NumClasses = config.NumClasses,
            ClassNames = ImageNetLabels.For(config.NumClasses),
            Preprocess = Preprocess.ForChannels(config.InChannels),
            OutputStride = config.OutputStride,
        };
    }

    /// <summary>The metadata of these published weights on this architecture: their classes, transform and license.</summary>
    public ModelMetadata MetadataOf(PretrainedConfig weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return DefaultMetadata(weights.NumClasses) with
        {
            ClassNames = weights.ClassNames,
            Preprocess = weights.Preprocess.ForChannels(Config.InChannels),
            Pretrained = weights.Name,
            License = weights.License,
        };
    }

    /// <summary>
    /// The configuration to build: this model's, with another class count, input channel count, output stride or
    /// block style, checked by its family without building anything (<see cref="ModelConfig.With"/>).
    /// </summary>
    /// <exception cref="InvalidOptionException">The model has no such form (for example a DLA model at output stride 8).</exception>
    public ModelConfig Configure(int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null) =>
        Config.With(numClasses, inChannels, outputStride, style);
}
