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
    /// <summary>Takes over <paramref name="model"/> (disposed with the engine); bfloat16 casts it.</summary>
    public TorchEngine(Res2NetBackbone model, IReadOnlyList<string>? labels = null, Precision precision = Precision.Float32)
    {
        Precisions.Check(precision, EngineKind.Torch);
        Model = model;
        Model.eval();
        Precision = precision;

        // Folded batch norm, padded groups, grouped first blocks: used while gradients are off (Grad-CAM turns them on
        // and gets the ordinary path).
        Model.PrepareInference(dtype: ComputeType);
        Labels = labels ?? ImageNetLabels.For(model.Config.NumClasses);
    }

    public Precision Precision { get; }

    public Res2NetBackbone Model { get; }

    public string EngineName => "torch";

    public int InChannels => Model.Config.InChannels;

    public IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// Images per forward pass; larger batches are run in slices of this size and joined. Null (default): as many as
    /// keep the largest feature map under 26 MB (<see cref="DefaultMicroBatch"/>), since glibc serves at most 32 MB from
    /// its heap and maps anything larger afresh, page faults and all, on every pass. Measured for res2net50_26w_4s at
    /// 224x224 on 2 cores with the tuned allocator (<see cref="TorchRuntime.TuneAllocator"/>), float32 images/s: 17.9-19.5
    /// one at a time, 20.2 in twos, 21.8-23.9 in eights (the default), 9.4-15.4 in sixteens; bfloat16: 31.7 in fours,
    /// 34.9-40.4 in eights, 34.6-38.4 in sixteens.
    /// </summary>
    public int? MicroBatch { get; set; }

    /// <summary>
    /// Resident memory above which the engine hands the heap's free memory back to the system after a pass (see
    /// <see cref="NativeMemory.TrimIfResidentAbove"/>): 1 GiB, the float32 peak of a batch-8 ResNet-50-sized pass plus room.
    /// </summary>
    public long ResidentBudget { get; set; } = 1L << 30;

    /// <summary>
    /// Images per forward pass that keep the largest float32 feature map of a ResNet-shaped model (64 channels at half
    /// the input side after the stem, 256 at a quarter after the first stage: 16 values per input pixel) under 26 MB:
    /// eight at 224x224, whole batches for small inputs. The same count for bfloat16, whose maps are half the size:
    /// measured no faster in sixteens (34.6-38.4 images/s against 37.1-40.4 in eights).
    /// </summary>
    public static int DefaultMicroBatch(long height, long width) =>
        (int)Math.Clamp((26L << 20) / Math.Max(16 * height * width * sizeof(float), 1), 1, int.MaxValue);

    /// <summary>Builds a registered model and loads a checkpoint into it (strictly).</summary>
    public static TorchEngine Load(string modelName, string weightsPath, int? numClasses = null, Precision precision = Precision.Float32)
    {
        Precisions.Check(precision, EngineKind.Torch);
        var info = ModelRegistry.Get(modelName);
        var checkpoint = CheckpointFile.ReadStateDict(weightsPath);
        if (numClasses is null && checkpoint.TryGetValue("fc.weight", out var fc))
        {
            // A fine-tuned checkpoint carries its class count in the classifier's shape.
            numClasses = (int)fc.Shape[0];
        }

        var model = info.Create(numClasses, ModelWeights.StemChannels(info, checkpoint));
        try
        {
            ModelWeights.Load(model, checkpoint, Path.GetFileName(weightsPath));
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return new TorchEngine(model, ImageNetLabels.For(model.Config.NumClasses, weightsPath), precision);
    }

    /// <summary>Class probabilities (softmax of the logits), the top <paramref name="topk"/> per row.</summary>
    public IReadOnlyList<ClassScore[]> Classify(Tensor batch, int topk = 5)
    {
        CheckInput(batch);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var probs = Sliced(batch, Model.call).softmax(1);
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
        return Sliced(batch, Model.call);
    }

    /// <summary>The pooled embedding or one stage's feature map, as a CPU float32 tensor.</summary>
    public Tensor Features(Tensor batch, FeatureStage stage)
    {
        CheckInput(batch);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        if (stage == FeatureStage.Pooled)
        {
            return Sliced(batch, Model.ForwardEmbedding).MoveToOuterDisposeScope();
        }

        var index = (int)stage - 1;
        if (index >= Model.Stages.Count)
        {
            throw new ArgumentException($"The model has {Model.Stages.Count} stages; there is no {stage}.");
        }

        return Sliced(batch, x => Model.ForwardStages(x)[index]).MoveToOuterDisposeScope();
    }

    public void Dispose() => Model.Dispose();

    private ScalarType ComputeType => Precision == Precision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>Runs <paramref name="model"/> over the batch in slices, in the engine's precision; the result is float32.</summary>
    private Tensor Sliced(Tensor batch, Func<Tensor, Tensor> model)
    {
        var forward = Precision == Precision.Float32 ? model : x =>
        {
            using var scope = NewDisposeScope();
            return model(x.to(ComputeType)).to(ScalarType.Float32).MoveToOuterDisposeScope();
        };
        var n = batch.shape[0];
        var slice = MicroBatch ?? DefaultMicroBatch(batch.shape[2], batch.shape[3]);
        Tensor result;
        if (n <= slice)
        {
            result = forward(batch);
        }
        else
        {
            using var scope = NewDisposeScope();
            var parts = new List<Tensor>();
            for (long start = 0; start < n; start += slice)
            {
                parts.Add(forward(batch.narrow(0, start, Math.Min(slice, n - start))));
            }

            result = cat(parts, 0).MoveToOuterDisposeScope();
        }

        NativeMemory.TrimIfResidentAbove(ResidentBudget);
        return result;
    }

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
