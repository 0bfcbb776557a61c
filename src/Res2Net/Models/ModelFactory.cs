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
        /// <summary>Builds the model with fresh weights, optionally with another class count or input channel count.</summary>
        public Res2NetBackbone Create(int? numClasses = null, int? inChannels = null)
        {
            var metadata = info.DefaultMetadata(numClasses, inChannels);
            var model = (info.Config with { NumClasses = metadata.NumClasses, InChannels = metadata.InChannels }).Build();
            model.ModelName = info.Name;
            model.ClassNames = metadata.ClassNames;
            model.Preprocess = metadata.Preprocess;
            return model;
        }
    }

    extension(ModelRegistry)
    {
        /// <summary>Builds a registered model (by name or alias) with fresh weights.</summary>
        public static Res2NetBackbone Create(string name, int? numClasses = null, int? inChannels = null) =>
            ModelRegistry.Get(name).Create(numClasses, inChannels);
    }
}
