using Res2Net.Export;
using static Res2Net.Export.OnnxGraph;

namespace Res2Net.Models;

/// <summary>The DLA family's ONNX graph: its base layers, its aggregation trees, its 1x1 convolution classifier.</summary>
public sealed partial class DlaModel
{
    /// <inheritdoc/>
    internal override (string Features, IReadOnlyList<string> Stages) WriteOnnx(OnnxWriter writer, string input, int lastStage)
    {
        var x = input;
        string[] names = ["base_layer", "level0", "level1"];
        for (var i = 0; i < names.Length; i++)
        {
            x = writer.Sequence(Levels[i].children().ToList(), x, names[i]);
        }

        var stages = new List<string>();
        for (var level = 2; level < 2 + lastStage; level++)
        {
            x = Tree(writer, Trees[level - 2], x, null, $"level{level}");
            stages.Add(x);
        }

        return (x, stages);
    }

    /// <inheritdoc/>
    internal override string WriteOnnxClassifier(OnnxWriter writer, string pooled, string embedding, string output) =>
        writer.Graph.Node("Flatten", output, [writer.Conv(Classifier!, null, pooled, "fc")], Int("axis", 1));

    private static string Tree(OnnxWriter writer, DlaTree tree, string x, List<string>? children, string name)
    {
        var g = writer.Graph;
        children ??= [];
        var bottom = !tree.Downsamples
            ? x
            : g.Node("MaxPool", $"{name}.downsample", [x], Ints("kernel_shape", tree.Stride, tree.Stride), Ints("strides", tree.Stride, tree.Stride));
        if (tree.LevelRoot)
        {
            children.Add(bottom);
        }

        if (tree.Levels == 1)
        {
            // The projection only matters where it is used (the model also runs it in deeper trees, for training).
            string residual;
            using (var project = tree.FoldProject())
            {
                residual = project is null ? bottom : writer.Emit(project, project.Groups, bottom, $"{name}.project.0");
            }

            var x1 = writer.Block((Bottle2neck)tree.Tree1, x, residual, $"{name}.tree1");
            var x2 = writer.Block((Bottle2neck)tree.Tree2, x1, null, $"{name}.tree2");
            var root = tree.Root!;
            var cat = g.Node("Concat", $"{name}.root.cat", [x2, x1, .. children], Int("axis", 1));
            string y;
            using (var folded = root.Fold())
            {
                y = writer.Emit(folded, folded.Groups, cat, $"{name}.root", relu: !root.Residual);
            }

            return root.Residual ? g.Node("Relu", $"{name}.root.out", [g.Node("Add", $"{name}.root.add", [y, x2])]) : y;
        }

        var t1 = Tree(writer, (DlaTree)tree.Tree1, x, null, $"{name}.tree1");
        children.Add(t1);
        return Tree(writer, (DlaTree)tree.Tree2, t1, children, $"{name}.tree2");
    }
}
