using Res2Net.LibTorch;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>
/// A 2-D convolution with PyTorch's parameter names (<c>weight</c>, <c>bias</c>) that computes through
/// <see cref="LibTorchDefects.Convolve"/>, so none of LibTorch's known convolution defects shows in the models.
/// </summary>
internal sealed class Conv2dLayer : Module<Tensor, Tensor>
{
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

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) =>
        LibTorchDefects.Convolve(input, weight, bias, KernelSize, Stride, Padding, Dilation, Groups);

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
}
