using Res2Net.Export;
using static Res2Net.Export.OnnxGraph;

namespace Res2Net.Models;

/// <summary>The ResNet-shaped family's ONNX graph: its stem, its stages of Res2Net blocks, its linear classifier.</summary>
public sealed partial class Res2NetModel
{
    /// <inheritdoc/>
    internal override (string Features, IReadOnlyList<string> Stages) WriteOnnx(OnnxWriter writer, string input, int lastStage)
    {
        var g = writer.Graph;
        var x = input;

        // Stem: its convolutions with their batch norms folded in, each followed by a ReLU; then the max pool.
        var stem = FoldStem();
        try
        {
            for (var i = 0; i < stem.Count; i++)
            {
                x = writer.Emit(stem[i], stem[i].Groups, x, $"stem.{i}", relu: true);
            }
        }
        finally
        {
            foreach (var c in stem)
            {
                c.Dispose();
            }
        }

        if (HasMaxPool)
        {
            x = g.Node("MaxPool", "stem_maxpool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        }

        var stages = new List<string>();
        var s = 1;
        foreach (var layer in Blocks.Take(lastStage))
        {
            var b = 0;
            foreach (var block in layer)
            {
                x = writer.Block(block, x, null, $"layer{s}.{b++}");
            }

            stages.Add(x);
            s++;
        }

        return (x, stages);
    }

    /// <inheritdoc/>
    internal override string WriteOnnxClassifier(OnnxWriter writer, string pooled, string embedding, string output) =>
        writer.Linear(Classifier!, embedding, output);
}
