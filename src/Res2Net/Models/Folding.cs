using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Res2Net.Models;

/// <summary>
/// A convolution with the batch norm after it folded in (W' = W g / sqrt(v + eps), b' = beta + (b - mu) g / sqrt(v + eps)),
/// computed in double precision and rounded to float32 once, with the convolution's geometry. The one description
/// both the TorchSharp inference plans and the ONNX writer consume.
/// </summary>
internal sealed class FoldedConv : IDisposable
{
    private FoldedConv(Tensor weight, Tensor bias, long kernelSize, long stride, long padding, long dilation, long groups)
    {
        Weight = weight;
        Bias = bias;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
    }

    /// <summary>(out, in / groups, k, k), float32, contiguous.</summary>
    public Tensor Weight { get; }

    /// <summary>(out), float32.</summary>
    public Tensor Bias { get; }

    public long KernelSize { get; }

    public long Stride { get; }

    public long Padding { get; }

    public long Dilation { get; }

    public long Groups { get; }

    public long OutChannels => Weight.shape[0];

    /// <summary>Folds <paramref name="bn"/> (if any) into <paramref name="conv"/>.</summary>
    public static FoldedConv From(Conv2dLayer conv, BatchNorm2d? bn)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var w = conv.Weight.detach().to(float64);
        var b = conv.Bias is null ? zeros(conv.OutChannels, dtype: float64) : conv.Bias.detach().to(float64);
        if (bn is not null)
        {
            var scale = bn.weight!.detach().to(float64) / (bn.running_var!.to(float64) + bn.eps).sqrt();
            w = w * scale.reshape(-1, 1, 1, 1);
            b = bn.bias!.detach().to(float64) + ((b - bn.running_mean!.to(float64)) * scale);
        }

        return new FoldedConv(w.to(float32).contiguous().MoveToOuterDisposeScope(), b.to(float32).contiguous().MoveToOuterDisposeScope(),
            conv.KernelSize, conv.Stride, conv.Padding, conv.Dilation, conv.Groups);
    }

    public void Dispose()
    {
        Weight.Dispose();
        Bias.Dispose();
    }
}

/// <summary>How a block's shortcut pools before its 1x1 convolution.</summary>
internal enum ShortcutPool
{
    /// <summary>No pooling: a strided 1x1 convolution (or a stride-1 one).</summary>
    None,

    /// <summary>v1b: AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False).</summary>
    Average,

    /// <summary>v1b in a dilated stage (timm): 2x2 windows at stride 1 over the map padded with zeros at the bottom and right.</summary>
    AverageSame,
}

/// <summary>
/// A Res2Net block in inference form: every convolution with its batch norm folded in, and what connects them
/// (<see cref="Bottle2neck"/> documents the block). Made once by <see cref="Bottle2neck.Fold"/>.
/// </summary>
internal sealed class FoldedBlock : IDisposable
{
    public required FoldedConv Conv1 { get; init; }

    public required IReadOnlyList<FoldedConv> Branches { get; init; }

    public required FoldedConv Conv3 { get; init; }

    /// <summary>The shortcut's projection, or null for the identity (or, in DLA, a shortcut given from outside).</summary>
    public FoldedConv? Shortcut { get; init; }

    public ShortcutPool ShortcutPool { get; init; }

    /// <summary>The stride the shortcut pools with (<see cref="ShortcutPool.Average"/>) or subsamples with.</summary>
    public int ShortcutStride { get; init; } = 1;

    public required int Width { get; init; }

    public required int Scale { get; init; }

    public int BranchCount => Branches.Count;

    public required int Groups { get; init; }

    public required int Stride { get; init; }

    public required int Dilation { get; init; }

    /// <summary>No hierarchical sums (the first block of a stage).</summary>
    public required bool FirstInStage { get; init; }

    /// <summary>Whether the last group is average-pooled (3x3, the block's stride, padding 1, counted) rather than passed through.</summary>
    public required bool PoolsLastGroup { get; init; }

    public void Dispose()
    {
        Conv1.Dispose();
        Conv3.Dispose();
        Shortcut?.Dispose();
        foreach (var b in Branches)
        {
            b.Dispose();
        }
    }
}
