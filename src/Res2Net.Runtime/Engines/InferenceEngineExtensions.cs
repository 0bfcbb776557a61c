namespace Res2Net.Engines;

/// <summary>What every engine offers on top of its logits and features, computed once for all of them.</summary>
internal static class InferenceEngineExtensions
{
    /// <summary>Class probabilities (softmax of the logits in double precision), the top <paramref name="topk"/> of each row.</summary>
    public static IReadOnlyList<Prediction> Classify(this IInferenceEngine engine, FloatTensor batch, int topk = 5, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Prediction.CheckTopK(topk);
        return Prediction.TopK(engine.Logits(batch, cancellationToken), topk, engine.Metadata.Label);
    }

    /// <summary>Checks that a batch is (N, channels, H, W) with N and the sides at least 1.</summary>
    public static void CheckBatch(FloatTensor batch, int channels)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank != 4 || batch.Shape[1] != channels || batch.Shape[0] < 1 || batch.Shape[2] < 1 || batch.Shape[3] < 1)
        {
            throw new InvalidOptionException("Batch", $"must be a float32 batch of shape (N, {channels}, H, W), not {batch}");
        }
    }

    /// <summary>Checks that every stage asked for is one the engine outputs, and that at least one is asked for.</summary>
    public static void CheckStages(this IInferenceEngine engine, IReadOnlyList<FeatureStage> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        var missing = stages.Where(s => !engine.FeatureStages.Contains(s)).ToList();
        if (missing.Count > 0 || stages.Count == 0)
        {
            throw new InvalidOptionException("Stages", stages.Count == 0 ? "must name at least one stage"
                : $"names {string.Join(", ", missing)}, which this model does not output (it has {(engine.FeatureStages.Count == 0 ? "none" : string.Join(", ", engine.FeatureStages))})");
        }
    }
}
