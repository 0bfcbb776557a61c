using Res2Net.Models;
using Res2Net.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Engines;

/// <summary>One class of a prediction.</summary>
public sealed record ClassScore(int Class, string Label, float Prob);

/// <summary>Which activation <see cref="TorchEngine.Features"/> returns.</summary>
public enum FeatureStage
{
    /// <summary>The globally averaged last stage, (N, C).</summary>
    Pooled,
    C2,
    C3,
    C4,
    C5,
}

/// <summary>Runs a model for inference on CPU: eval mode, no autograd, the fast inference path, native memory released per batch.</summary>
public sealed class TorchEngine : IInferenceEngine
{
    public TorchEngine(Res2NetBackbone model, IReadOnlyList<string>? labels = null)
    {
        Model = model;
        Model.eval();

        // Folded batch norm, padded groups, grouped first blocks: used while gradients are off (Grad-CAM turns them on
        // and gets the ordinary path).
        Model.PrepareInference();
        Labels = labels ?? ImageNetLabels.For(model.Config.NumClasses);
    }

    public Res2NetBackbone Model { get; }

    public string EngineName => "torch";

    public int InChannels => Model.Config.InChannels;

    public IReadOnlyList<string> Labels { get; }

    /// <summary>Builds a registered model and loads a checkpoint into it (strictly).</summary>
    public static TorchEngine Load(string modelName, string weightsPath, int? numClasses = null)
    {
        var info = ModelRegistry.Get(modelName);
        var checkpoint = CheckpointFile.ReadStateDict(weightsPath);
        if (numClasses is null && checkpoint.TryGetValue("fc.weight", out var fc))
        {
            // A fine-tuned checkpoint carries its class count in the classifier's shape.
            numClasses = (int)fc.Shape[0];
        }

        var model = info.Create(numClasses, StemChannels(info, checkpoint));
        try
        {
            ModelWeights.Load(model, checkpoint, Path.GetFileName(weightsPath));
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return new TorchEngine(model);
    }

    /// <summary>Input channels of the checkpoint's stem (1 for a model trained on grayscale), or null to keep the model's.</summary>
    private static int? StemChannels(ModelInfo info, IReadOnlyDictionary<string, TensorData> checkpoint)
    {
        using var meta = Layers.On(META);
        using var probe = info.Create();
        var stem = ModelWeights.StateDict(probe).First(e => e.Value.dim() == 4).Key;
        return checkpoint.TryGetValue(stem, out var w) && w.Shape.Length == 4 ? (int)w.Shape[1] : null;
    }

    /// <summary>Class probabilities (softmax of the logits), the top <paramref name="topk"/> per row.</summary>
    public IReadOnlyList<ClassScore[]> Classify(Tensor batch, int topk = 5)
    {
        CheckInput(batch);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var probs = Model.call(batch).softmax(1);
        var k = Math.Min(topk, (int)probs.shape[1]);
        var (values, indices) = probs.topk(k, dim: 1);
        var v = values.data<float>().ToArray();
        var ix = indices.data<long>().ToArray();
        var result = new ClassScore[batch.shape[0]][];
        for (var n = 0; n < result.Length; n++)
        {
            result[n] = new ClassScore[k];
            for (var j = 0; j < k; j++)
            {
                var c = (int)ix[(n * k) + j];
                result[n][j] = new ClassScore(c, Labels[c], v[(n * k) + j]);
            }
        }

        return result;
    }

    /// <summary>The raw logits (N, classes).</summary>
    public Tensor Logits(Tensor batch)
    {
        CheckInput(batch);
        using var inference = inference_mode();
        return Model.call(batch);
    }

    /// <summary>The pooled embedding or one stage's feature map, as a CPU float32 tensor.</summary>
    public Tensor Features(Tensor batch, FeatureStage stage)
    {
        CheckInput(batch);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        if (stage == FeatureStage.Pooled)
        {
            return Model.ForwardEmbedding(batch).MoveToOuterDisposeScope();
        }

        var index = (int)stage - 1;
        if (index >= Model.Stages.Count)
        {
            throw new ArgumentException($"The model has {Model.Stages.Count} stages; there is no {stage}.");
        }

        return Model.ForwardStages(batch)[index].MoveToOuterDisposeScope();
    }

    public void Dispose() => Model.Dispose();

    private void CheckInput(Tensor batch)
    {
        var c = Model.Config.InChannels;
        if (batch.dim() != 4 || batch.shape[1] != c || batch.dtype != ScalarType.Float32)
        {
            throw new ArgumentException(
                $"expected a float32 batch of shape (N, {c}, H, W), got {batch.dtype} ({string.Join(", ", batch.shape)}).");
        }
    }
}
