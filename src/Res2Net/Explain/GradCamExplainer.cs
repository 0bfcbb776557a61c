using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Explain;

/// <summary>
/// Grad-CAM for photos: the whole photo, its shorter side resized as the model's transform does and nothing cut away,
/// so that the map covers all of it; class names from the model's metadata. One map at a time (the model's gradients
/// are shared), from any number of threads.
/// </summary>
public sealed class GradCamExplainer : IClassActivationMapper, IDisposable
{
    private readonly Lock gate = new();

    /// <summary>Takes over <paramref name="model"/> (disposed with the explainer).</summary>
    /// <param name="model">The model to explain.</param>
    /// <param name="stage">The stage whose activations are weighted (C2..C5); null: the last.</param>
    /// <param name="preprocess">The photo transform; null: the model's.</param>
    public GradCamExplainer(Res2NetBackbone model, FeatureStage? stage = null, PreprocessConfig? preprocess = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (stage is FeatureStage.Pooled || (stage is { } s && (int)s > model.Stages.Count))
        {
            throw new InvalidOptionException("Stage", $"must be one of {string.Join(", ", model.Stages.Select(x => x.Name))} (got {stage})");
        }

        Model = model;
        Stage = stage;
        Preprocessor = new ImagePreprocessor(preprocess ?? model.Metadata.Preprocess, model.Config.InChannels);
    }

    /// <summary>The model (owned by the explainer).</summary>
    public Res2NetBackbone Model { get; }

    /// <summary>The stage explained; null: the last.</summary>
    public FeatureStage? Stage { get; }

    /// <summary>The transform photos get (uncropped).</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <summary>Opens a checkpoint (see <see cref="ModelCheckpoint"/>) for Grad-CAM.</summary>
    /// <param name="weightsPath">The checkpoint.</param>
    /// <param name="modelName">The registered model it is for; null: the one the file records or its shapes fit.</param>
    /// <param name="stage">The stage whose activations are weighted; null: the last.</param>
    /// <param name="inputSize">Another input size than the model's (the shorter side is resized to it over its crop fraction).</param>
    public static GradCamExplainer Load(string weightsPath, string? modelName = null, FeatureStage? stage = null, int? inputSize = null)
    {
        var model = ModelCheckpoint.Read(weightsPath, modelName).CreateModel();
        try
        {
            var preprocess = model.Metadata.Preprocess;
            return new GradCamExplainer(model, stage, preprocess with { InputSize = inputSize ?? preprocess.InputSize });
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public CamResult Map(DecodedImage photo, int? classIndex = null)
    {
        ArgumentNullException.ThrowIfNull(photo);
        var input = Preprocessor.ProcessUncropped(photo);
        lock (gate)
        {
            using var x = input.ToTensor();
            using var batch = x.unsqueeze(0);
            return GradCam.Compute(Model, batch, classIndex, Stage is { } s ? (int)s - 1 : null, Model.Metadata.Label);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}
