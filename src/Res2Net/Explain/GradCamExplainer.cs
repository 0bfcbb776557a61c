using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Explain;

/// <summary>
/// Grad-CAM for photos, behind <see cref="Predictor.Explain"/>: the whole photo, its shorter side resized as the
/// model's transform does and nothing cut away, so that the map covers all of it; class names from the model's
/// metadata. One map at a time (the model's gradients are shared), from any number of threads.
/// </summary>
internal sealed class GradCamExplainer : IClassActivationMapper, IDisposable
{
    private readonly Lock gate = new();

    /// <summary>Takes over <paramref name="model"/> (disposed with the explainer).</summary>
    /// <param name="model">The model to explain.</param>
    /// <param name="preprocess">The photo transform; null: the model's.</param>
    public GradCamExplainer(Res2NetBackbone model, PreprocessConfig? preprocess = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Preprocessor = new ImagePreprocessor(preprocess ?? model.Metadata.Preprocess, model.Config.InChannels);
    }

    /// <summary>The model (owned by the explainer).</summary>
    public Res2NetBackbone Model { get; }

    /// <summary>The transform photos get (uncropped).</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <inheritdoc/>
    public CamResult Map(DecodedImage photo, int? classIndex = null, FeatureStage? stage = null)
    {
        ArgumentNullException.ThrowIfNull(photo);
        if (stage is FeatureStage.Pooled || (stage is { } s && (int)s > Model.Stages.Count))
        {
            throw new InvalidOptionException("Stage", $"must be one of {string.Join(", ", Model.Stages.Select(x => x.Name))} (got {stage})");
        }

        var input = Preprocessor.ProcessUncropped(photo);
        lock (gate)
        {
            using var x = input.ToTensor();
            using var batch = x.unsqueeze(0);
            return GradCam.Compute(Model, batch, classIndex, stage is { } which ? (int)which - 1 : null, Model.Metadata.Label);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}
