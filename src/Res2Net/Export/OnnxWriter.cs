using Onnx;
using Res2Net.Models;
using TorchSharp.Modules;
using static Res2Net.Export.OnnxGraph;
using static TorchSharp.torch;

namespace Res2Net.Export;

/// <summary>
/// Emits the nodes every model family is made of (folded convolutions, Res2Net blocks, linear layers, pools); the
/// families write their own structure with them (<see cref="Res2NetBackbone.WriteOnnx"/>). Every method returns the name
/// of the value it computed.
/// </summary>
internal sealed class OnnxWriter(OnnxGraph g, OnnxExportOptions options)
{
    /// <summary>The graph being written.</summary>
    public OnnxGraph Graph => g;

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

    public string Linear(Linear fc, string x, string output)
    {
        var wi = Initializer("fc.weight", fc.weight!);
        var bi = fc.bias is null ? g.Initializer("fc.bias", new float[fc.weight!.shape[0]], fc.weight!.shape[0]) : Initializer("fc.bias", fc.bias);
        return g.Node("Gemm", output, [x, wi, bi], Int("transB", 1));
    }

    /// <summary>A convolution with an optional batch norm folded in, then an optional ReLU.</summary>
    public string Conv(Conv2dLayer conv, BatchNorm2d? bn, string x, string name, bool relu = false)
    {
        using var folded = FoldedConv.From(conv, bn);
        return Emit(folded, conv.Groups, x, name, relu);
    }

    /// <summary>A Conv node with a folded convolution's weights and geometry.</summary>
    public string Emit(FoldedConv conv, long groups, string x, string name, bool relu = false) =>
        Emit(conv.Weight, conv.Bias, conv, groups, x, name, relu);

    /// <summary>A Conv node with <paramref name="geometry"/>'s kernel, stride, padding and dilation and the given weights.</summary>
    private string Emit(Tensor w, Tensor b, FoldedConv geometry, long groups, string x, string name, bool relu = false)
    {
        var wi = Initializer($"{name}.weight", w);
        var bi = Initializer($"{name}.bias", b);
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
    public string Sequence(IReadOnlyList<nn.Module> modules, string x, string name, bool relu = false)
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

    /// <summary>A float32 initializer with the tensor's values and shape, copied straight from LibTorch's memory into the graph's.</summary>
    private string Initializer(string name, Tensor t)
    {
        using var f = t.detach().to(float32).cpu().contiguous();
        return g.Initializer(name, f.bytes, f.shape);
    }
}
