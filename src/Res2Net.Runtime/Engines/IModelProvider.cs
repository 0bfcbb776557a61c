using Res2Net.Explain;

namespace Res2Net.Engines;

/// <summary>
/// Opens what Res2Net.Runtime cannot open alone: registered models, checkpoints and untrained architectures, which need
/// TorchSharp. The Res2Net package provides it (<see cref="ModelProviderAttribute"/>); <see cref="Predictor"/> finds it.
/// </summary>
internal interface IModelProvider
{
    /// <summary>Opens <paramref name="source"/> (not an ONNX file) with checked options.</summary>
    Task<OpenedModel> OpenAsync(ModelSource source, ModelOptions options, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>An opened model: the engine that runs it and, when Grad-CAM was asked for, what computes the maps.</summary>
internal sealed record OpenedModel(IInferenceEngine Engine, IClassActivationMapper? Explainer);

/// <summary>Names the <see cref="IModelProvider"/> an assembly provides (the Res2Net package's).</summary>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class ModelProviderAttribute(Type provider) : Attribute
{
    public Type Provider { get; } = provider;
}

/// <summary>Finds the provider of the Res2Net package, when the application has the package.</summary>
internal static class ModelProviders
{
    /// <summary>The assembly of the Res2Net package, which holds the provider.</summary>
    private const string TorchAssembly = "Res2Net";

    private static readonly Lazy<IModelProvider?> Torch = new(Find);

    /// <summary>The provider, or an error that says which package the source needs.</summary>
    /// <exception cref="Res2NetException">The application does not have the Res2Net package.</exception>
    public static IModelProvider For(ModelSource source) => Torch.Value ?? throw new Res2NetException(
        $"{source}: opening {(source.Kind == ModelSourceKind.Checkpoint ? "a checkpoint" : "a registered model")} needs the Res2Net package "
        + "(TorchSharp), which this application does not reference; reference it, or open an ONNX file written by res2net export.");

    private static IModelProvider? Find()
    {
        System.Reflection.Assembly assembly;
        try
        {
            // Loaded by name: Res2Net.Runtime does not reference the package that extends it.
            assembly = System.Reflection.Assembly.Load(new System.Reflection.AssemblyName(TorchAssembly));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            return null;
        }

        return assembly.GetCustomAttributes(typeof(ModelProviderAttribute), inherit: false) is [ModelProviderAttribute { Provider: var type }, ..]
            ? (IModelProvider?)Activator.CreateInstance(type, nonPublic: true)
            : null;
    }
}
