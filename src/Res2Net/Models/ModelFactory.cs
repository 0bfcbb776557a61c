namespace Res2Net.Models;

/// <summary>
/// Builds models: a configuration into a network with fresh weights, a registered name into its network. The registry
/// itself (<see cref="ModelRegistry"/>) is data in Res2Net.Runtime; these members extend it where TorchSharp is present.
/// </summary>
public static class ModelFactory
{
    extension(ModelConfig config)
    {
        /// <summary>Builds the network with freshly initialised weights.</summary>
        public Res2NetBackbone Build() => config switch
        {
            Res2NetConfig r => new Res2NetModel(r),
            DlaConfig d => new DlaModel(d),
            _ => throw new ArgumentException($"No network is built from a {config.GetType().Name}.", nameof(config)),
        };
    }

    extension(ModelInfo info)
    {
        /// <summary>
        /// Builds the model with fresh weights, optionally with another class count, input channel count, output stride
        /// (8, 16 or 32, for the ImageNet ResNet-style models) or block style.
        /// </summary>
        public Res2NetBackbone Create(int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null)
        {
            var metadata = info.DefaultMetadata(numClasses, inChannels);
            var config = info.Configure(numClasses, inChannels, outputStride, style);
            var model = config.Build();
            model.ModelName = info.Name;
            model.ClassNames = metadata.ClassNames;
            model.Preprocess = metadata.Preprocess;
            return model;
        }
    }

    extension(ModelRegistry)
    {
        /// <summary>Builds a registered model (by name or alias) with fresh weights (see <see cref="Create(ModelInfo, int?, int?, int?, BlockStyle?)"/>).</summary>
        public static Res2NetBackbone Create(string name, int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null) =>
            ModelRegistry.Get(name).Create(numClasses, inChannels, outputStride, style);
    }
}
