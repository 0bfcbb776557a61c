using Res2Net.Models;
using static TorchSharp.torch;
using ModelMetadata = Res2Net.Models.ModelMetadata;

namespace Res2Net.Engines;

/// <summary>
/// Runs a model for inference on CPU with TorchSharp: eval mode, no autograd, the folded inference path, native memory
/// released per batch. A pass stops between slices of a batch when its token is cancelled.
/// </summary>
internal sealed class TorchEngine : IInferenceEngine
{
    /// <summary>Takes over <paramref name="model"/> (disposed with the engine); bfloat16 casts it.</summary>
    public TorchEngine(Res2NetBackbone model, Precision precision = Precision.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        Precisions.Check(precision, EngineKind.Torch);
        TorchRuntime.TuneForRepeatedPasses();
        Model = model;
        Model.eval();
        Precision = precision;
        Metadata = model.Metadata;
        FeatureStages = [FeatureStage.Pooled, .. Enumerable.Range(0, model.Stages.Count).Select(i => (FeatureStage)(i + 1))];

        // Folded batch norm, padded groups, grouped first blocks: used while gradients are off (Grad-CAM turns them on
        // and gets the ordinary path).
        Model.PrepareInference(dtype: ComputeType);
    }

    /// <summary>The number format of the forward passes.</summary>
    public Precision Precision { get; }

    /// <summary>The model (owned by the engine).</summary>
    public Res2NetBackbone Model { get; }

    /// <inheritdoc/>
    public EngineKind Kind => EngineKind.Torch;

    /// <inheritdoc/>
    public ModelMetadata Metadata { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureStage> FeatureStages { get; }

    /// <summary>
    /// Images per forward pass; larger batches run in slices of this size and are joined. Null (default): as many as
    /// keep the largest feature map under 26 MB (<see cref="DefaultMicroBatch"/>): glibc serves at most 32 MB from its
    /// heap and maps anything larger afresh, page faults and all, on every pass (docs/performance.md).
    /// </summary>
    public int? MicroBatch { get; set; }

    /// <summary>
    /// Resident memory above which the engine hands the heap's free memory back to the system after a pass: 1 GiB, the
    /// float32 peak of a batch-8 ResNet-50-sized pass plus room.
    /// </summary>
    public long ResidentBudget { get; set; } = 1L << 30;

    /// <summary>
    /// Images per forward pass that keep the largest float32 feature map of a ResNet-shaped model (64 channels at half
    /// the input side after the stem, 256 at a quarter after the first stage: 16 values per input pixel) under 26 MB:
    /// eight at 224x224, whole batches for small inputs.
    /// </summary>
    public static int DefaultMicroBatch(long height, long width) =>
        (int)Math.Clamp((26L << 20) / Math.Max(16 * height * width * sizeof(float), 1), 1, int.MaxValue);

    /// <inheritdoc/>
    public FloatTensor Logits(FloatTensor batch, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        return Logits(ToInput(batch), cancellationToken).ToFloatTensor();
    }

    /// <inheritdoc/>
    public IReadOnlyList<FloatTensor> Features(FloatTensor batch, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        return Features(ToInput(batch), stages, cancellationToken).Select(t => t.ToFloatTensor()).ToArray();
    }

    /// <inheritdoc/>
    public IReadOnlyList<FloatTensor> Outputs(FloatTensor batch, bool logits, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stages);
        using var scope = NewDisposeScope();
        if (!logits)
        {
            return Features(ToInput(batch), stages, cancellationToken).Select(t => t.ToFloatTensor()).ToArray();
        }

        if (stages.Count == 0)
        {
            return [Logits(ToInput(batch), cancellationToken).ToFloatTensor()];
        }

        var input = ToInput(batch);
        CheckInput(input);
        this.CheckStages(stages);
        var wanted = stages.ToArray();
        using var inference = inference_mode();
        return Sliced(input, x =>
        {
            // The classifier needs the last stage: every stage runs, and the asked-for maps are kept on the way.
            var maps = Model.ForwardStages(x, Model.Stages.Count);
            var head = Model.ForwardHead(maps[^1]);
            return [head, .. wanted.Select(s => s == FeatureStage.Pooled ? Model.ForwardHead(maps[^1], preLogits: true) : maps[(int)s - 1])];
        }, cancellationToken).Select(t => t.ToFloatTensor()).ToArray();
    }

    /// <summary>The raw logits (N, classes) of a float32 batch, as a CPU float32 tensor.</summary>
    public Tensor Logits(Tensor batch, CancellationToken cancellationToken = default)
    {
        CheckInput(batch);
        using var inference = inference_mode();
        return Sliced(batch, x => [Model.call(x)], cancellationToken)[0];
    }

    /// <summary>One CPU float32 tensor per requested stage (the pooled embedding, stage maps), from one pass per slice.</summary>
    public Tensor[] Features(Tensor batch, IReadOnlyList<FeatureStage> stages, CancellationToken cancellationToken = default)
    {
        CheckInput(batch);
        this.CheckStages(stages);
        var wanted = stages.ToArray();
        using var inference = inference_mode();
        return Sliced(batch, x =>
        {
            if (wanted.All(s => s == FeatureStage.Pooled))
            {
                var pooled = Model.ForwardEmbedding(x);
                return wanted.Select(_ => pooled).ToArray();
            }

            // Stops after the deepest stage asked for, unless the pooled embedding (after the last) is asked for too.
            var deepest = wanted.Contains(FeatureStage.Pooled) ? Model.Stages.Count : wanted.Max(s => (int)s);
            var maps = Model.ForwardStages(x, deepest);
            return wanted.Select(s => s == FeatureStage.Pooled ? Model.ForwardHead(maps[^1], preLogits: true) : maps[(int)s - 1]).ToArray();
        }, cancellationToken);
    }

    /// <summary>The features of one stage (see <see cref="Features(Tensor, IReadOnlyList{FeatureStage}, CancellationToken)"/>).</summary>
    public Tensor Features(Tensor batch, FeatureStage stage) => Features(batch, [stage])[0];

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();

    private ScalarType ComputeType => Precision == Precision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;

    private Tensor ToInput(FloatTensor batch)
    {
        InferenceEngineExtensions.CheckBatch(batch, Metadata.InChannels);
        return batch.ToTensor();
    }

    /// <summary>
    /// Runs <paramref name="forward"/> over the batch in slices, in the engine's precision; the results, joined along
    /// the batch, are float32 and belong to the caller's dispose scope.
    /// </summary>
    private Tensor[] Sliced(Tensor batch, Func<Tensor, Tensor[]> forward, CancellationToken cancellationToken)
    {
        Tensor[] Run(Tensor x)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var outputs = forward(ComputeType == ScalarType.Float32 ? x : x.to(ComputeType));
            return outputs.Select(o => o.to(ScalarType.Float32).MoveToOuterDisposeScope()).ToArray();
        }

        var n = batch.shape[0];
        var slice = MicroBatch ?? DefaultMicroBatch(batch.shape[2], batch.shape[3]);
        Tensor[] result;
        if (n <= slice)
        {
            result = Run(batch);
        }
        else
        {
            using var scope = NewDisposeScope();
            var parts = new List<Tensor[]>();
            for (long start = 0; start < n; start += slice)
            {
                parts.Add(Run(batch.narrow(0, start, Math.Min(slice, n - start))));
            }

            result = Enumerable.Range(0, parts[0].Length).Select(i => cat(parts.Select(p => p[i]).ToList(), 0).MoveToOuterDisposeScope()).ToArray();
        }

        NativeMemory.TrimIfResidentAbove(ResidentBudget);
        return result;
    }

    private void CheckInput(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var c = Model.Config.InChannels;
        if (batch.dim() != 4 || batch.shape[1] != c || batch.dtype != ScalarType.Float32 || batch.shape[0] < 1 || batch.shape[2] < 1 || batch.shape[3] < 1)
        {
            throw new InvalidOptionException("Batch", $"must be a float32 batch of shape (N, {c}, H, W), not {batch.dtype} ({string.Join(", ", batch.shape)})");
        }
    }
}
