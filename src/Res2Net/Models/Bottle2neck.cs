using Res2Net.LibTorch;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>
/// The Res2Net block (Gao et al., TPAMI 2021, Fig. 2): a 1x1 convolution to <c>width * scale</c> channels,
/// split into <c>scale</c> groups x1..xs; y1 = K1(x1), yi = Ki(xi + y(i-1)) with 3x3 convolutions Ki; the last group
/// passes through untouched, then a 1x1 convolution back out, plus the shortcut.
/// </summary>
/// <remarks>
/// The first block of a stage (<c>stype='stage'</c> in the official code) differs in two ways that change numbers:
/// its groups are not accumulated (yi = Ki(xi)), and its last group is average-pooled (3x3, stride = the stage stride,
/// padding 1, padding counted) instead of passed through. Parameter names follow the official code so checkpoints load
/// without renaming: conv1, bn1, convs.i, bns.i, conv3, bn3, downsample.
/// </remarks>
internal sealed partial class Bottle2neck : Module<Tensor, Tensor>
{
    private readonly Conv2dLayer conv1;
    private readonly BatchNorm2d bn1;
    private readonly ModuleList<Conv2dLayer> convs;
    private readonly ModuleList<BatchNorm2d> bns;
    private readonly AvgPool2d? pool;
    private readonly Conv2dLayer conv3;
    private readonly BatchNorm2d bn3;
    private readonly Module<Tensor, Tensor>? downsample;

    /// <param name="inChannels">Channels in.</param>
    /// <param name="outChannels">Channels out (planes * 4 in the ResNet-style models, planes in DLA).</param>
    /// <param name="width">Channels of one group.</param>
    /// <param name="scale">Number of groups s.</param>
    /// <param name="groups">Groups of each 3x3 convolution (Res2NeXt cardinality).</param>
    /// <param name="stride">Stride of the 3x3 convolutions and of the pooled last group.</param>
    /// <param name="dilation">Dilation (and padding) of the 3x3 convolutions.</param>
    /// <param name="firstInStage">Whether this is the first block of a stage (no accumulation, pooled last group).</param>
    /// <param name="downsample">Shortcut projection, or null for identity.</param>
    /// <param name="poolLastGroup">Whether a first block average-pools its last group (mmdetection's do not where they do not stride).</param>
    /// <param name="conv1Stride">Stride of the first 1x1 convolution (detectron2's STRIDE_IN_1X1; 1 elsewhere).</param>
    public Bottle2neck(int inChannels, int outChannels, int width, int scale, int groups = 1, int stride = 1,
        int dilation = 1, bool firstInStage = false, Module<Tensor, Tensor>? downsample = null, bool poolLastGroup = true, int conv1Stride = 1)
        : base(nameof(Bottle2neck))
    {
        if (width < 1 || scale < 1)
        {
            throw new ArgumentException($"A Res2Net block needs width >= 1 and scale >= 1 (got width {width}, scale {scale}).");
        }

        Width = width;
        Scale = scale;
        FirstInStage = firstInStage;
        Stride = stride;
        Dilation = dilation;
        Groups = groups;
        BranchCount = scale == 1 ? 1 : scale - 1;

        conv1 = new Conv2dLayer(inChannels, width * scale, kernelSize: 1, stride: conv1Stride, bias: false);
        bn1 = Layers.BatchNorm(width * scale);
        convs = new ModuleList<Conv2dLayer>();
        bns = new ModuleList<BatchNorm2d>();
        for (var i = 0; i < BranchCount; i++)
        {
            convs.append(new Conv2dLayer(width, width, kernelSize: 3, stride: stride, padding: dilation, dilation: dilation, groups: groups, bias: false));
            bns.append(Layers.BatchNorm(width));
        }

        if (firstInStage && poolLastGroup)
        {
            pool = AvgPool2d(kernel_size: 3, stride: stride, padding: 1);
        }

        conv3 = new Conv2dLayer(width * scale, outChannels, kernelSize: 1, bias: false);
        bn3 = Layers.BatchNorm(outChannels);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <summary>Channels of one group.</summary>
    public int Width { get; }

    /// <summary>Number of groups s.</summary>
    public int Scale { get; }

    /// <summary>Number of 3x3 convolutions (s - 1, or 1 when s = 1).</summary>
    public int BranchCount { get; }

    /// <summary>Whether this is the first block of its stage.</summary>
    public bool FirstInStage { get; }

    public int Stride { get; }

    public int Dilation { get; }

    public int Groups { get; }

    public override Tensor forward(Tensor x) => forward(x, null);

    /// <summary>Runs the block; DLA passes its own shortcut in <paramref name="residual"/>.</summary>
    public Tensor forward(Tensor x, Tensor? residual)
    {
        if (plan is not null && !is_grad_enabled())
        {
            return plan.Forward(x, residual);
        }

        using var scope = NewDisposeScope();
        var y = bn1.call(conv1.call(x)).relu_();
        var splits = Scale == 1 ? [y] : y.split(Width, 1);

        var outputs = new Tensor[Scale];
        Tensor? sp = null;
        for (var i = 0; i < BranchCount; i++)
        {
            sp = i == 0 || FirstInStage ? LibTorchDefects.ContiguousForConvolution(splits[i]) : sp! + splits[i];
            sp = bns[i].call(convs[i].call(sp)).relu_();
            outputs[i] = sp;
        }

        if (Scale != 1)
        {
            var last = splits[BranchCount];
            outputs[BranchCount] = pool is null ? last : pool.call(LibTorchDefects.ContiguousForConvolution(last));
        }

        var merged = Scale == 1 ? outputs[0] : cat(outputs, 1);
        var result = bn3.call(conv3.call(merged));
        var shortcut = residual ?? (downsample is null ? x : downsample.call(x));
        return result.add_(shortcut).relu_().MoveToOuterDisposeScope();
    }

    /// <summary>The block in inference form (see <see cref="FoldedBlock"/>); the caller owns and disposes it.</summary>
    internal FoldedBlock Fold()
    {
        FoldedConv? shortcut = null;
        var shortcutPool = ShortcutPool.None;
        var shortcutStride = 1;
        if (downsample is Sequential down)
        {
            // [AvgPool2d or Identity,] conv, bn: see Res2NetModel.MakeStage.
            var parts = down.children().ToList();
            var conv = (Conv2dLayer)parts[^2];
            shortcut = FoldedConv.From(conv, (BatchNorm2d)parts[^1]);
            shortcutPool = parts.Count == 3 ? parts[0] switch
            {
                TorchSharp.Modules.AvgPool2d => ShortcutPool.Average,
                AvgPoolSame => ShortcutPool.AverageSame,
                _ => ShortcutPool.None,
            }
            : ShortcutPool.None;
            // The block strides in its 3x3 convolutions or, detectron2-style, in conv1; the pooled shortcut matches either.
            shortcutStride = shortcutPool == ShortcutPool.Average ? Stride * (int)conv1.Stride : (int)conv.Stride;
        }

        return new FoldedBlock
        {
            Conv1 = FoldedConv.From(conv1, bn1),
            Branches = Enumerable.Range(0, BranchCount).Select(i => FoldedConv.From(convs[i], bns[i])).ToArray(),
            Conv3 = FoldedConv.From(conv3, bn3),
            Shortcut = shortcut,
            ShortcutPool = shortcutPool,
            ShortcutStride = shortcutStride,
            Width = Width,
            Scale = Scale,
            Groups = Groups,
            Stride = Stride,
            Dilation = Dilation,
            FirstInStage = FirstInStage,
            PoolsLastGroup = pool is not null,
        };
    }
}
