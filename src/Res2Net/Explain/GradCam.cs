using Res2Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Explain;

/// <summary>A class activation map: where the network looked for one class, on a coarse grid, scaled to [0, 1].</summary>
public sealed record CamResult(int Class, string Label, float Prob, float[] Map, int MapWidth, int MapHeight);

/// <summary>
/// Grad-CAM (Selvaraju et al., ICCV 2017): the stage's feature maps weighted by the spatial mean of the class score's
/// gradient, summed over channels and rectified. The Res2Net paper uses such maps to show that the multi-scale block
/// covers whole objects better than ResNet.
/// </summary>
public static class GradCam
{
    /// <param name="model">Any model of the family; run in eval mode (batch-norm statistics frozen).</param>
    /// <param name="input">One normalised image, (1, C, H, W); any size the network accepts.</param>
    /// <param name="classIndex">The class to explain; null for the top class.</param>
    /// <param name="stage">Index into <see cref="Res2NetBackbone.Stages"/>; null for the last stage.</param>
    /// <param name="labels">Class names for the result.</param>
    public static CamResult Compute(Res2NetBackbone model, Tensor input, int? classIndex, int? stage, IReadOnlyList<string> labels)
    {
        if (input.dim() != 4 || input.shape[0] != 1)
        {
            throw new ArgumentException($"Grad-CAM explains one image at a time, shape (1, C, H, W); got ({string.Join(", ", input.shape)}).");
        }

        var s = stage ?? model.Stages.Count - 1;
        if (s < 0 || s >= model.Stages.Count)
        {
            throw new ArgumentException($"The model has stages 0..{model.Stages.Count - 1} ({string.Join(", ", model.Stages.Select(x => x.Name))}); there is no stage {s}.");
        }

        var wasTraining = model.training;
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var grad = enable_grad();
            var stages = model.ForwardStages(input.detach());
            var activations = stages[s];
            var logits = model.ForwardHead(stages[^1]);
            var classes = (int)logits.shape[1];
            var k = classIndex ?? (int)logits.argmax(1).item<long>();
            if (k < 0 || k >= classes)
            {
                throw new ArgumentException($"Class {k} is out of range: the model has {classes} classes (0..{classes - 1}).");
            }

            var prob = logits.softmax(1)[0, k].item<float>();
            var gradient = autograd.grad([logits[0, k]], [activations])[0];
            var weights = gradient.mean([2, 3], keepdim: true);
            var cam = (weights * activations).sum(1)[0].relu();
            var max = cam.max().item<float>();
            if (max > 0)
            {
                cam = cam / max;
            }

            return new CamResult(k, labels.Count > k ? labels[k] : k.ToString(System.Globalization.CultureInfo.InvariantCulture), prob,
                cam.detach().contiguous().data<float>().ToArray(), (int)cam.shape[1], (int)cam.shape[0]);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
