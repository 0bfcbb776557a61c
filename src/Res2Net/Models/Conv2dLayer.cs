using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>
/// A 2-D convolution with PyTorch's parameter names (<c>weight</c>, <c>bias</c>) that works around a LibTorch 2.10
/// defect: its oneDNN 3.7 direct convolution returns wrong values (errors of order 1) for kernels larger than 1x1 when
/// the input channels per group exceed 16 and are not a multiple of 16 (e.g. the 26-channel groups of res2net50_26w_4s),
/// at any batch size, as measured on this AVX-512 CPU against PyTorch 1.13 and LibTorch's own reference kernel.
/// Zero-padding those channels (in, and out for the gradient) to the next multiple of 16 gives exact results at almost
/// no cost, since oneDNN pads to that block size internally anyway.
/// </summary>
public sealed class Conv2dLayer : Module<Tensor, Tensor>
{
    private const int OneDnnBlock = 16;

    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Conv2dLayer(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        long dilation = 1, long groups = 1, bool bias = false) : base(nameof(Conv2dLayer))
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentException($"Channels ({inChannels} in, {outChannels} out) must divide into {groups} groups.");
        }

        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        weight = new Parameter(empty([outChannels, inChannels / groups, kernelSize, kernelSize], device: Layers.Device));
        this.bias = bias ? new Parameter(empty([outChannels], device: Layers.Device)) : null;
        ResetParameters();
        RegisterComponents();
    }

    public long InChannels { get; }

    public long OutChannels { get; }

    public long KernelSize { get; }

    public long Stride { get; }

    public long Padding { get; }

    public long Dilation { get; }

    public long Groups { get; }

    public Parameter Weight => weight;

    public Parameter? Bias => bias;

    /// <summary>Input channels added by the padding described on the class (0 when the shape is safe).</summary>
    public long InputPadding => PaddingFor(InChannels / Groups);

    /// <summary>
    /// Output channels added (zero filters, sliced off again): the input gradient of a convolution is a convolution
    /// over its output channels, which the same defect would get wrong in training.
    /// </summary>
    public long OutputPadding => PaddingFor(OutChannels / Groups);

    public override Tensor forward(Tensor input)
    {
        long[] s = [Stride, Stride], p = [Padding, Padding], d = [Dilation, Dilation];
        long inPad = InputPadding, outPad = OutputPadding;
        if (KernelSize == 1 && Stride > 1 && Padding == 0 && is_grad_enabled())
        {
            // A strided 1x1 convolution is a 1x1 convolution of every Stride-th pixel. Written that way for training:
            // LibTorch 2.10's oneDNN kills the process (SIGFPE in its brgemm backward-data set-up) on the input
            // gradient of some strided 1x1 convolutions, e.g. 512 to 1024 channels at 14x14, batch 8 (the downsample
            // of Res2NeXt-29's last stage and of the ImageNet models' third stage).
            using var strided = NewDisposeScope();
            return functional.conv2d(EveryStride(input, Stride), weight, bias, [1, 1], [0, 0], d, Groups).MoveToOuterDisposeScope();
        }

        if (Groups > 1 && Stride > 1 && KernelSize > 1 && is_grad_enabled())
        {
            // Strided grouped convolutions get wrong input gradients from LibTorch 2.10's oneDNN (14% off for 6 groups
            // of 48 channels at 32x32, stride 2: Res2NeXt-29's second stage), whatever the channel count. In training
            // they run at stride 1 and keep every Stride-th output, which is the same function (4x the work, in the
            // first block of a stage only).
            // (Grouped convolutions are never padded, see PaddingFor.)
            using var strided = NewDisposeScope();
            return EveryStride(functional.conv2d(input, weight, bias, [1, 1], p, d, Groups), Stride).MoveToOuterDisposeScope();
        }

        if (inPad == 0 && outPad == 0)
        {
            return functional.conv2d(input, weight, bias, s, p, d, Groups);
        }

        using var scope = NewDisposeScope();
        var x = inPad == 0 ? input : functional.pad(input, [0, 0, 0, 0, 0, inPad]);
        var w = functional.pad(weight, [0, 0, 0, 0, 0, inPad, 0, outPad]);
        var b = bias is null || outPad == 0 ? bias : functional.pad(bias, [0, outPad]);
        var y = functional.conv2d(x, w, b, s, p, d, Groups);
        return (outPad == 0 ? y : y.narrow(1, 0, OutChannels)).MoveToOuterDisposeScope();
    }

    /// <summary>PyTorch's default initialisation of Conv2d (Kaiming uniform with a = sqrt(5), uniform bias).</summary>
    public void ResetParameters()
    {
        using var noGrad = no_grad();
        init.kaiming_uniform_(weight, Math.Sqrt(5));
        if (bias is not null)
        {
            var bound = 1 / Math.Sqrt(InChannels / Groups * KernelSize * KernelSize);
            init.uniform_(bias, -bound, bound);
        }
    }

    /// <summary>Every <paramref name="stride"/>-th row and column of a (N, C, H, W) map (a view).</summary>
    internal static Tensor EveryStride(Tensor x, long stride) =>
        x[TensorIndex.Ellipsis, TensorIndex.Slice(null, null, stride), TensorIndex.Slice(null, null, stride)];

    private long PaddingFor(long perGroup) =>
        Groups == 1 && KernelSize > 1 && perGroup > OneDnnBlock && perGroup % OneDnnBlock != 0
            ? OneDnnBlock - (perGroup % OneDnnBlock)
            : 0;
}
