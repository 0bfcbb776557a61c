using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.LibTorch;

/// <summary>
/// Every defect of the LibTorch this library runs on that it works around, in one place. They depend on the kernels
/// oneDNN picks for a CPU: found with <see cref="MeasuredOn"/> on this project's earlier machines, absent on others
/// (AMD Zen 4), so the workarounds stay wherever the library may run; each costs little where it is not needed. Each
/// has a canary in tests/Res2Net.Tests/LibTorch/LibTorchDefectTests.cs that runs the defective operation unprotected
/// and compares with what was recorded for the CPU at hand. Measurements and history: docs/libtorch-defects.md.
/// </summary>
internal static class LibTorchDefects
{
    /// <summary>The versions and machine the defects were measured on.</summary>
    public const string MeasuredOn = "LibTorch 2.10.0 (TorchSharp-cpu 0.107.0, oneDNN 3.7) on AVX-512 x86-64 CPUs";

    /// <summary>oneDNN's block of channels: multiples of it are computed right.</summary>
    public const int OneDnnBlock = 16;

    /// <summary>
    /// Defect 1, wrong 3x3 convolutions: oneDNN's direct convolution returns wrong values (errors of order 1) for
    /// kernels larger than 1x1 when the input channels per group exceed 16 and are not a multiple of 16 (the 26-channel
    /// groups of res2net50_26w_4s), at any batch size. Workaround: zero-pad such channel counts to the next multiple of
    /// 16 (the input channels, and the output channels too, whose input gradient is such a convolution in training):
    /// oneDNN pads to that block internally anyway, so it costs almost nothing. Grouped convolutions are right as they
    /// are and stay unpadded. Returns the channels to add (0 when the shape is safe).
    /// </summary>
    public static long ChannelPadding(long perGroup, long groups, long kernelSize) =>
        groups == 1 && kernelSize > 1 && perGroup > OneDnnBlock && perGroup % OneDnnBlock != 0
            ? OneDnnBlock - (perGroup % OneDnnBlock)
            : 0;

    /// <summary>A group width rounded up as <see cref="ChannelPadding"/> pads it (the inference plan's padded groups).</summary>
    public static int PaddedWidth(int width, int groups) => width + (int)ChannelPadding(width, groups, 3);

    /// <summary>
    /// A 2-D convolution computed so that none of the defects here shows: the padding of <see cref="ChannelPadding"/>,
    /// and in training (gradients on) defects 2 and 3:
    /// <list type="bullet">
    /// <item>Defect 2, a crash: oneDNN kills the process (SIGFPE in its brgemm backward-data set-up) on the input gradient
    /// of some strided 1x1 convolutions, e.g. 512 to 1024 channels at 14x14, batch 8 (the shortcut of the ImageNet
    /// models' third stage). Workaround: a strided 1x1 convolution is a 1x1 convolution of every stride-th pixel.</item>
    /// <item>Defect 3, wrong gradients: strided grouped convolutions get input gradients 14% off (6 groups of 48 channels
    /// at 32x32, stride 2: Res2NeXt-29's second stage), whatever the channel count. Workaround: stride 1, then every
    /// stride-th output (the same function at 4x the work, in the first block of a stage only).</item>
    /// </list>
    /// </summary>
    public static Tensor Convolve(Tensor input, Tensor weight, Tensor? bias, long kernelSize, long stride, long padding, long dilation, long groups)
    {
        long[] s = [stride, stride], p = [padding, padding], d = [dilation, dilation];
        if (kernelSize == 1 && stride > 1 && padding == 0 && is_grad_enabled())
        {
            using var strided = NewDisposeScope();
            return functional.conv2d(EveryStride(input, stride), weight, bias, [1, 1], [0, 0], d, groups).MoveToOuterDisposeScope();
        }

        if (groups > 1 && stride > 1 && kernelSize > 1 && is_grad_enabled())
        {
            using var strided = NewDisposeScope();
            return EveryStride(functional.conv2d(input, weight, bias, [1, 1], p, d, groups), stride).MoveToOuterDisposeScope();
        }

        var outChannels = weight.shape[0];
        long inPad = ChannelPadding(weight.shape[1], groups, kernelSize), outPad = ChannelPadding(outChannels / groups, groups, kernelSize);
        if (inPad == 0 && outPad == 0)
        {
            return functional.conv2d(input, weight, bias, s, p, d, groups);
        }

        using var scope = NewDisposeScope();
        var x = inPad == 0 ? input : functional.pad(input, [0, 0, 0, 0, 0, inPad]);
        var w = functional.pad(weight, [0, 0, 0, 0, 0, inPad, 0, outPad]);
        var b = bias is null || outPad == 0 ? bias : functional.pad(bias, [0, outPad]);
        var y = functional.conv2d(x, w, b, s, p, d, groups);
        return (outPad == 0 ? y : y.narrow(1, 0, outChannels)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Defect 4, wrong results on views: a channel slice of a batch (a split of conv1's output) is not contiguous, and
    /// oneDNN's convolution gives wrong results (errors near 1e-2) for such views once the batch exceeds 1. Workaround:
    /// convolve a contiguous copy (Bottle2neck's training path; the inference plan reads padded windows that oneDNN
    /// copies itself).
    /// </summary>
    public static Tensor ContiguousForConvolution(Tensor slice) => slice.contiguous();

    /// <summary>
    /// Defect 5, channels-last convolutions: oneDNN crashes (SIGFPE choosing a 1x1 kernel, e.g. 512 to 1024 channels at
    /// 14x14) or returns wrong results (44% off for 512 to 1040 channels) for some channels-last shapes. Workaround:
    /// convolutions always run on NCHW tensors; only pooling runs channels-last (where it is 2-20x faster, measured).
    /// </summary>
    public static Tensor ChannelsLastForPooling(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>
    /// Defect 6, NNPACK: LibTorch sends batch-1 convolutions on small maps to NNPACK, which cannot start on CPUs it
    /// does not know (this one among them) and then prints "Could not initialize NNPACK!" to stderr on every call
    /// before falling back. PyTorch's switch (torch.backends.nnpack.enabled) is not in TorchSharp. Workaround: at
    /// start-up, turn NNPACK off through at::Context's own setter (see <see cref="TorchRuntime.Initialize"/>).
    /// </summary>
    public const string NnpackSetter = "_ZN2at7Context20setUserEnabledNNPACKEb";

    /// <summary>
    /// Defect 7, wrong training gradients of some channel counts even with the padding of defect 1: a plain bottleneck
    /// with 36-channel 3x3 convolutions trains with gradients 5-15% off (against float64), and 8-channel groups gave
    /// NaN input gradients now and then. Workaround: the small-image models (<c>ModelRegistry</c>'s CIFAR-style family)
    /// use channel counts that are multiples of 16.
    /// </summary>
    public const int SmallModelChannelMultiple = OneDnnBlock;

    /// <summary>Every <paramref name="stride"/>-th row and column of a (N, C, H, W) map (a view).</summary>
    public static Tensor EveryStride(Tensor x, long stride) =>
        x[TensorIndex.Ellipsis, TensorIndex.Slice(null, null, stride), TensorIndex.Slice(null, null, stride)];
}
