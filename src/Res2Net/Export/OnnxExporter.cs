using Google.Protobuf;
using Onnx;
using Res2Net.Engines;
using Res2Net.IO;
using Res2Net.Models;
using TorchSharp.Modules;
using static Res2Net.Export.OnnxGraph;
using static TorchSharp.torch;

namespace Res2Net.Export;

/// <summary>
/// Writes a model as an ONNX graph built from its own structure (stem, Res2Net blocks, DLA trees, head) rather than by
/// tracing: batch norm is folded into the preceding convolution (in double precision), the Res2Net groups become
/// Split/Concat, and the first block of each stage can run its independent 3x3 convolutions as one grouped convolution.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Bumped whenever the graph the exporter writes changes, so cached exports are rebuilt.</summary>
    public const int FormatVersion = 1;

    private const string InputName = OnnxEngine.InputName;
    private const string LogitsName = OnnxEngine.LogitsName;
    private const string EmbeddingName = OnnxEngine.EmbeddingName;

    /// <summary>Writes the model's graph to <paramref name="path"/> (see the library's atomic writes).</summary>
    public static void Export(Res2NetBackbone model, string path, OnnxExportOptions? options = null) => Write(Build(model, options), path);

    /// <summary>Writes a graph through a temporary file and a rename (an interrupted write leaves no half file).</summary>
    public static void Write(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, model.WriteTo);
    }

    /// <summary>The model's graph as the bytes of an ONNX file.</summary>
    public static byte[] ExportBytes(Res2NetBackbone model, OnnxExportOptions? options = null) => Build(model, options).ToByteArray();

    /// <summary>Sets (or replaces) one entry of a graph's <c>metadata_props</c>.</summary>
    public static void SetProperty(ModelProto model, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(model);
        var existing = model.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (existing is not null)
        {
            existing.Value = value;
        }
        else
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
    }

    /// <summary>
    /// The ONNX model as protobuf objects, with the model's <see cref="ModelMetadata"/> in its <c>metadata_props</c>
    /// (the input size set to the fixed size, if any) so that an engine opening the file knows what it runs.
    /// </summary>
    public static ModelProto Build(Res2NetBackbone model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        options.Validate();

        var name = model.ModelName ?? model.GetType().Name;
        var g = new OnnxGraph(name, options.Opset);
        var writer = new Writer(g, options);
        using var noGrad = no_grad();
        long?[] inputDims = [options.Batch, model.Config.InChannels, options.Height, options.Width];
        g.AddInput(InputName, inputDims, ["batch", "", "height", "width"]);

        if (options.LastStage > model.Stages.Count)
        {
            throw new InvalidOptionException(nameof(OnnxExportOptions.LastStage), $"must be at most {model.Stages.Count}, the stages of {name} (got {options.LastStage})");
        }

        var last = options.LastStage ?? model.Stages.Count;
        var (features, stages) = model switch
        {
            Res2NetModel r => writer.Res2Net(r, InputName, last),
            DlaModel d => writer.Dla(d, InputName, last),
            _ => throw new ArgumentException($"Cannot export {model.GetType().Name}: only Res2NetModel and DlaModel are supported."),
        };

        long? batch = options.Batch;
        if (options.LastStage is null)
        {
            Head(g, writer, model, features, options, batch);
        }

        if (options.Stages || options.LastStage is not null)
        {
            for (var i = 0; i < stages.Count; i++)
            {
                var info = model.Stages[i];
                // Spatial sides stay symbolic: how odd sizes round differs between the model families.
                var output = g.Node("Identity", info.Name, [stages[i]]);
                g.AddOutput(output, [batch, info.Channels, null, null], ["batch", "", $"{info.Name}_height", $"{info.Name}_width"]);
            }
        }

        var m = new ModelProto
        {
            IrVersion = options.Opset <= 17 ? 8 : options.Opset <= 20 ? 9 : 10,
            ProducerName = "Res2Net for .NET",
            ProducerVersion = FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Graph = g.Graph,
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = options.Opset });
        var metadata = model.Metadata;
        if (options.Size is { } size)
        {
            // A square graph of fixed size takes photos preprocessed to that size.
            metadata = metadata with { Preprocess = metadata.Preprocess with { InputSize = size } };
        }

        SetProperty(m, ModelMetadata.Key, metadata.ToJson());
        SetProperty(m, OnnxEngine.PrecisionKey, "fp32");
        return m;
    }

    /// <summary>The pooled embedding and the classifier, with their outputs.</summary>
    private static void Head(OnnxGraph g, Writer writer, Res2NetBackbone model, string features, OnnxExportOptions options, long? batch)
    {
        var pooled = g.Node("GlobalAveragePool", "pool", [features]);
        var embedding = g.Node("Flatten", EmbeddingName, [pooled], Int("axis", 1));
        string? logits = null;
        if (model.Config.NumClasses > 0)
        {
            logits = model switch
            {
                Res2NetModel r => writer.Linear(r.Classifier!, embedding, LogitsName),
                DlaModel d => g.Node("Flatten", LogitsName, [writer.Conv(d.Classifier!, null, pooled, "fc")], Int("axis", 1)),
                _ => throw new InvalidOperationException($"No classifier writer for {model.GetType().Name}."),
            };
        }

        if (logits is not null)
        {
            g.AddOutput(logits, [batch, model.Config.NumClasses], ["batch", ""]);
        }

        if (options.Embedding || logits is null)
        {
            g.AddOutput(embedding, [batch, model.NumFeatures], ["batch", ""]);
        }
    }

    /// <summary>Emits the nodes of one model; every method returns the name of the value it computed.</summary>
    private sealed class Writer(OnnxGraph g, OnnxExportOptions options)
    {
        public (string Features, List<string> Stages) Res2Net(Res2NetModel model, string x, int last)
        {
            // Stem: its convolutions with their batch norms folded in, each followed by a ReLU; then the max pool.
            var stem = model.FoldStem();
            try
            {
                for (var i = 0; i < stem.Count; i++)
                {
                    x = Emit(stem[i], stem[i].Groups, x, $"stem.{i}", relu: true);
                }
            }
            finally
            {
                foreach (var c in stem)
                {
                    c.Dispose();
                }
            }

            if (model.HasMaxPool)
            {
                x = g.Node("MaxPool", "stem_maxpool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
            }

            var stages = new List<string>();
            var s = 1;
            foreach (var layer in model.Blocks.Take(last))
            {
                var b = 0;
                foreach (var block in layer)
                {
                    x = Block(block, x, null, $"layer{s}.{b++}");
                }

                stages.Add(x);
                s++;
            }

            return (x, stages);
        }

        public (string Features, List<string> Stages) Dla(DlaModel model, string x, int last)
        {
            string[] names = ["base_layer", "level0", "level1"];
            for (var i = 0; i < names.Length; i++)
            {
                x = Sequence(model.Levels[i].children().ToList(), x, names[i]);
            }

            var stages = new List<string>();
            for (var level = 2; level < 2 + last; level++)
            {
                x = Tree(model.Trees[level - 2], x, null, $"level{level}");
                stages.Add(x);
            }

            return (x, stages);
        }

        /// <summary>A Res2Net block; <paramref name="residual"/> is DLA's shortcut, else the block's own (identity or projection).</summary>
        public string Block(Bottle2neck module, string x, string? residual, string name)
        {
            using var block = module.Fold();
            using var scope = NewDisposeScope();
            int w = block.Width, s = block.Scale, branches = block.BranchCount;
            var wp = options.PadGroups && block.Groups == 1 && s > 1 && w % 16 != 0 ? (w + 15) / 16 * 16 : w;

            // conv1's output and conv3's input get zero filters / zero columns for the padded channels of each group.
            var y = Emit(PadGroups(block.Conv1.Weight, 0, s, w, wp), PadGroups(block.Conv1.Bias, 0, s, w, wp), block.Conv1, 1, x, $"{name}.conv1", relu: true);
            var branch = block.Branches
                .Select(c => (W: PadGroups(PadGroups(c.Weight, 0, 1, w, wp), 1, 1, w / block.Groups, wp / block.Groups), B: PadGroups(c.Bias, 0, 1, w, wp)))
                .ToArray();

            string merged;
            if (s == 1)
            {
                merged = Emit(branch[0].W, branch[0].B, block.Branches[0], block.Groups, y, $"{name}.convs.0", relu: true);
            }
            else if (block.FirstInStage && options.GroupFirstBlock && branches > 1)
            {
                // No hierarchical sum in a stage's first block: its branches are one grouped convolution.
                var parts = Split(y, [(long)wp * branches, wp], $"{name}.split");
                var grouped = Emit(cat(branch.Select(t => t.W).ToArray(), 0), cat(branch.Select(t => t.B).ToArray(), 0), block.Branches[0],
                    block.Groups * branches, parts[0], $"{name}.convs", relu: true);
                var last = block.PoolsLastGroup ? Pool(block, parts[1], $"{name}.pool") : parts[1];
                merged = g.Node("Concat", $"{name}.cat", [grouped, last], Int("axis", 1));
            }
            else
            {
                var splits = Split(y, Enumerable.Repeat((long)wp, s).ToArray(), $"{name}.split");
                var outputs = new string[s];
                string? sp = null;
                for (var i = 0; i < branches; i++)
                {
                    sp = i == 0 || block.FirstInStage ? splits[i] : g.Node("Add", $"{name}.add{i}", [sp!, splits[i]]);
                    sp = Emit(branch[i].W, branch[i].B, block.Branches[i], block.Groups, sp, $"{name}.convs.{i}", relu: true);
                    outputs[i] = sp;
                }

                outputs[branches] = block.PoolsLastGroup ? Pool(block, splits[branches], $"{name}.pool") : splits[branches];
                merged = g.Node("Concat", $"{name}.cat", outputs, Int("axis", 1));
            }

            var result = Emit(PadGroups(block.Conv3.Weight, 1, s, w, wp), block.Conv3.Bias, block.Conv3, 1, merged, $"{name}.conv3");
            var shortcut = residual ?? (block.Shortcut is { } projection ? Shortcut(block, projection, x, $"{name}.downsample") : x);
            var sum = g.Node("Add", $"{name}.add", [result, shortcut]);
            return g.Node("Relu", $"{name}.out", [sum]);
        }

        public string Tree(DlaTree tree, string x, List<string>? children, string name)
        {
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
                    residual = project is null ? bottom : Emit(project, project.Groups, bottom, $"{name}.project.0");
                }

                var x1 = Block((Bottle2neck)tree.Tree1, x, residual, $"{name}.tree1");
                var x2 = Block((Bottle2neck)tree.Tree2, x1, null, $"{name}.tree2");
                var root = tree.Root!;
                var cat = g.Node("Concat", $"{name}.root.cat", [x2, x1, .. children], Int("axis", 1));
                string y;
                using (var folded = root.Fold())
                {
                    y = Emit(folded, folded.Groups, cat, $"{name}.root", relu: !root.Residual);
                }

                return root.Residual ? g.Node("Relu", $"{name}.root.out", [g.Node("Add", $"{name}.root.add", [y, x2])]) : y;
            }

            var t1 = Tree((DlaTree)tree.Tree1, x, null, $"{name}.tree1");
            children.Add(t1);
            return Tree((DlaTree)tree.Tree2, t1, children, $"{name}.tree2");
        }

        public string Linear(Linear fc, string x, string output)
        {
            var w = Floats(fc.weight!);
            var b = fc.bias is null ? new float[fc.weight!.shape[0]] : Floats(fc.bias);
            var wi = g.Initializer("fc.weight", w, fc.weight!.shape);
            var bi = g.Initializer("fc.bias", b, fc.weight!.shape[0]);
            return g.Node("Gemm", output, [x, wi, bi], Int("transB", 1));
        }

        /// <summary>A convolution with an optional batch norm folded in, then an optional ReLU.</summary>
        public string Conv(Conv2dLayer conv, BatchNorm2d? bn, string x, string name, bool relu = false)
        {
            using var folded = FoldedConv.From(conv, bn);
            return Emit(folded, conv.Groups, x, name, relu);
        }

        /// <summary>A Conv node with a folded convolution's weights and geometry.</summary>
        private string Emit(FoldedConv conv, long groups, string x, string name, bool relu = false) =>
            Emit(conv.Weight, conv.Bias, conv, groups, x, name, relu);

        /// <summary>A Conv node with <paramref name="geometry"/>'s kernel, stride, padding and dilation and the given weights.</summary>
        private string Emit(Tensor w, Tensor b, FoldedConv geometry, long groups, string x, string name, bool relu = false)
        {
            var wi = g.Initializer($"{name}.weight", Floats(w), w.shape);
            var bi = g.Initializer($"{name}.bias", Floats(b), b.shape[0]);
            var y = g.Node("Conv", name, [x, wi, bi], ConvAttributes(geometry, groups));
            return relu ? g.Node("Relu", $"{name}.relu", [y]) : y;
        }

        /// <summary>Pads each of <paramref name="groups"/> runs of <paramref name="from"/> entries along an axis to <paramref name="to"/> with zeros.</summary>
        private static Tensor PadGroups(Tensor t, int axis, int groups, int from, int to)
        {
            if (from == to)
            {
                return t;
            }

            long[] shape = t.shape;
            long[] split = [.. shape[..axis], groups, from, .. shape[(axis + 1)..]];
            var zerosShape = split.ToArray();
            zerosShape[axis + 1] = to - from;
            var padded = cat([t.reshape(split), zeros(zerosShape, dtype: t.dtype)], axis + 1);
            var result = shape.ToArray();
            result[axis] = (long)groups * to;
            return padded.reshape(result);
        }

        /// <summary>The pooled last group of a stage's first block: 3x3, the block's stride, padding 1, padding counted.</summary>
        private string Pool(FoldedBlock block, string x, string name) =>
            g.Node("AveragePool", name, [x], Ints("kernel_shape", 3, 3), Ints("strides", block.Stride, block.Stride),
                Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));

        /// <summary>The block's projected shortcut: v1b pools first (AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)).</summary>
        private string Shortcut(FoldedBlock block, FoldedConv projection, string x, string name)
        {
            if (block.ShortcutPool == ShortcutPool.Average)
            {
                var stride = block.ShortcutStride;
                x = g.Node("AveragePool", $"{name}.0", [x], Ints("kernel_shape", stride, stride), Ints("strides", stride, stride),
                    Int("ceil_mode", 1), Int("count_include_pad", 0));
            }
            else if (block.ShortcutPool == ShortcutPool.AverageSame)
            {
                // timm's AvgPool2dSame(2, 1): zeros appended at the bottom and right, then 2x2 averages that count them.
                var pads = g.Int64Initializer($"{name}.0.pads", 0, 0, 0, 0, 0, 0, 1, 1);
                var padded = g.Node("Pad", $"{name}.0.pad", [x, pads]);
                x = g.Node("AveragePool", $"{name}.0", [padded], Ints("kernel_shape", 2, 2), Ints("strides", 1, 1));
            }

            return Emit(projection, projection.Groups, x, $"{name}.1");
        }

        /// <summary>Convolutions, batch norms (folded into the convolution before them), ReLUs and identities in order.</summary>
        private string Sequence(IReadOnlyList<nn.Module> modules, string x, string name, bool relu = false)
        {
            for (var i = 0; i < modules.Count; i++)
            {
                switch (modules[i])
                {
                    case Conv2dLayer conv:
                        var bn = i + 1 < modules.Count ? modules[i + 1] as BatchNorm2d : null;
                        x = Conv(conv, bn, x, $"{name}.{i}");
                        i += bn is null ? 0 : 1;
                        break;
                    case ReLU:
                        x = g.Node("Relu", $"{name}.{i}.relu", [x]);
                        break;
                    case Identity:
                        break;
                    default:
                        throw new InvalidOperationException($"Cannot export {modules[i].GetType().Name} in {name}.");
                }
            }

            return relu ? g.Node("Relu", $"{name}.relu", [x]) : x;
        }

        private string[] Split(string x, long[] sizes, string name)
        {
            var split = g.Int64Initializer($"{name}.sizes", sizes);
            return g.NodeN("Split", name, [x, split], sizes.Length, Int("axis", 1));
        }

        private static AttributeProto[] ConvAttributes(FoldedConv conv, long groups) =>
        [
            Ints("kernel_shape", conv.KernelSize, conv.KernelSize),
            Ints("strides", conv.Stride, conv.Stride),
            Ints("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding),
            Ints("dilations", conv.Dilation, conv.Dilation),
            Int("group", groups),
        ];

        private static float[] Floats(Tensor t)
        {
            using var f = t.detach().to(float32).cpu().contiguous();
            return f.data<float>().ToArray();
        }
    }
}
