namespace Res2Net.Engines;

/// <summary>A classification: the top classes with their probabilities, best first.</summary>
public sealed record Prediction
{
    private readonly IReadOnlyList<ClassScore> top = [];

    /// <summary>A prediction of at least one class (copied).</summary>
    public Prediction(IReadOnlyList<ClassScore> top)
    {
        ArgumentNullException.ThrowIfNull(top);
        if (top.Count == 0)
        {
            throw new ArgumentException("A prediction has at least one class.", nameof(top));
        }

        Top = top;
    }

    /// <summary>The classes, most probable first.</summary>
    public IReadOnlyList<ClassScore> Top
    {
        get => top;
        init => top = Array.AsReadOnly(value.ToArray());
    }

    /// <summary>The most probable class.</summary>
    public ClassScore Best => Top[0];

    /// <summary>
    /// The one rule for how many classes a caller may ask for, in the library, the tool and the service: at least one;
    /// more than the model has gives all of them.
    /// </summary>
    /// <exception cref="InvalidOptionException">Fewer than one.</exception>
    public static void CheckTopK(int topk)
    {
        if (topk < 1)
        {
            throw new InvalidOptionException("TopK", $"must be at least 1 (got {topk})");
        }
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
}
