using Res2Net.Models;
using static TorchSharp.torch;

namespace Res2Net.Explain;


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
    /// <param name="label">The name of a class index, for the result (e.g. the model's metadata's).</param>
    public static CamResult Compute(Res2NetBackbone model, Tensor input, int? classIndex, int? stage, Func<int, string> label)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(label);
        if (input.dim() != 4 || input.shape[0] != 1)
        {
            throw new InvalidOptionException("Input", $"must be one image of shape (1, C, H, W), not ({string.Join(", ", input.shape)})");
        }

        var s = stage ?? model.Stages.Count - 1;
        if (s < 0 || s >= model.Stages.Count)
        {
            throw new InvalidOptionException("Stage", $"must be one of {string.Join(", ", model.Stages.Select(x => x.Name))}");
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
                throw new InvalidOptionException("ClassIndex", $"must be from 0 to {classes - 1}: the model has {classes} classes (got {k})");
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

            return new CamResult(k, label(k), prob,
                cam.detach().contiguous().data<float>().ToArray(), (int)cam.shape[1], (int)cam.shape[0]);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
