namespace Res2Net.Engines;

/// <summary>What every engine offers on top of its logits and features, computed once for all of them.</summary>
public static class InferenceEngineExtensions
{
    /// <summary>Class probabilities (softmax of the logits in double precision), the top <paramref name="topk"/> of each row.</summary>
    public static IReadOnlyList<Prediction> Classify(this IInferenceEngine engine, FloatTensor batch, int topk = 5)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (topk < 1)
        {
            throw new InvalidOptionException("TopK", $"must be at least 1 (got {topk})");
        }

        return TopK(engine.Logits(batch), topk, engine.Metadata.Label);
    }

    /// <summary>The features of one stage.</summary>
    public static FloatTensor Features(this IInferenceEngine engine, FloatTensor batch, FeatureStage stage)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return engine.Features(batch, [stage])[0];
    }

    /// <summary>The top classes of each row of (N, classes) logits; ties go to the lower class index.</summary>
    internal static IReadOnlyList<Prediction> TopK(FloatTensor logits, int topk, Func<int, string> label)
    {
        if (logits.Rank != 2 || logits.Shape[1] < 1)
        {
            throw new InvalidOperationException($"Logits of shape {logits} are not (N, classes).");
        }

        int rows = (int)logits.Shape[0], classes = (int)logits.Shape[1];
        var k = Math.Min(topk, classes);
        var result = new Prediction[rows];
        var probs = new double[classes];
        var order = new int[classes];
        for (var row = 0; row < rows; row++)
        {
            var span = logits.Values.Span.Slice(row * classes, classes);
            var max = double.NegativeInfinity;
            foreach (var v in span)
            {
                max = Math.Max(max, v);
            }

            // Subtract the maximum first, as LibTorch's softmax does, so large logits do not overflow.
            double sum = 0;
            for (var c = 0; c < classes; c++)
            {
                probs[c] = Math.Exp(span[c] - max);
                sum += probs[c];
            }

            for (var c = 0; c < classes; c++)
            {
                probs[c] /= sum;
                order[c] = c;
            }

            // NaN logits (a broken model) sort last and show as NaN rather than failing the whole batch.
            Array.Sort(order, (a, b) =>
            {
                var byProb = Nan(probs[b]).CompareTo(Nan(probs[a]));
                return byProb != 0 ? byProb : a.CompareTo(b);
            });
            result[row] = new Prediction(order.Take(k).Select(c => new ClassScore(c, label(c), (float)probs[c])).ToArray());
        }

        return result;

        static double Nan(double p) => double.IsNaN(p) ? double.NegativeInfinity : p;
    }

    /// <summary>Checks that a batch is (N, channels, H, W) with N and the sides at least 1.</summary>
    internal static void CheckBatch(FloatTensor batch, int channels)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank != 4 || batch.Shape[1] != channels || batch.Shape[0] < 1 || batch.Shape[2] < 1 || batch.Shape[3] < 1)
        {
            throw new InvalidOptionException("Batch", $"must be a float32 batch of shape (N, {channels}, H, W), not {batch}");
        }
    }
}
