namespace Res2Net.Models;

/// <summary>
/// The model families: each configuration type with the network it builds. A family owns its rules (its
/// configuration's <see cref="ModelConfig.Validate"/>, stage count and output strides), its network, and how it writes
/// itself to ONNX (<see cref="Res2NetBackbone.WriteOnnx"/>); adding one is its own files and an entry here.
/// </summary>
internal static class ModelFamilies
{
    private static readonly Dictionary<Type, Func<ModelConfig, Res2NetBackbone>> Networks = new()
    {
        [typeof(Res2NetConfig)] = c => new Res2NetModel((Res2NetConfig)c),
        [typeof(DlaConfig)] = c => new DlaModel((DlaConfig)c),
    };

    /// <summary>The network of a checked configuration, with LibTorch's default initial weights (initialise or load them next).</summary>
    /// <exception cref="InvalidOptionException">The configuration is out of range.</exception>
    public static Res2NetBackbone Network(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return Networks.TryGetValue(config.GetType(), out var build) ? build(config)
            : throw new ArgumentException($"No model family builds a {config.GetType().Name}.", nameof(config));
    }

    extension(ModelConfig config)
    {
        /// <summary>The network with the official code's freshly initialised weights.</summary>
        internal Res2NetBackbone Build()
        {
            var model = Network(config);
            model.InitializeWeights();
            return model;
        }
    }

    extension(ModelInfo info)
    {
        /// <summary>
        /// The registered model with freshly initialised weights, optionally with another class count, input channel
        /// count, output stride or block style, described by its default metadata.
        /// </summary>
        internal Res2NetBackbone Create(int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null)
        {
            var model = info.Configure(numClasses, inChannels, outputStride, style).Build();
            model.Describe(info.DefaultMetadata(numClasses, inChannels) with { OutputStride = model.Config.OutputStride });
            return model;
        }
    }

    extension(ModelRegistry)
    {
        /// <summary>A registered model (by name or alias) with freshly initialised weights (see <see cref="Create(ModelInfo, int?, int?, int?, BlockStyle?)"/>).</summary>
        internal static Res2NetBackbone Create(string name, int? numClasses = null, int? inChannels = null, int? outputStride = null, BlockStyle? style = null) =>
            ModelRegistry.Get(name).Create(numClasses, inChannels, outputStride, style);
    }
}
