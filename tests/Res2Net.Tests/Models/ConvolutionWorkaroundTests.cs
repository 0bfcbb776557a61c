using Res2Net.Models;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>
/// LibTorch 2.10's oneDNN 3x3 convolution is wrong for 17-31, 33-47, ... input channels on this CPU; the model's
/// convolution must agree with LibTorch's reference (non-oneDNN) kernel for every channel count the family uses.
/// </summary>
[Collection(nameof(GlobalTorchState))]
public class ConvolutionWorkaroundTests
{
    [Theory]
    [InlineData(26, 56, 1, 1)]
    [InlineData(26, 56, 4, 2)]
    [InlineData(52, 28, 2, 1)]
    [InlineData(104, 14, 2, 1)]
    [InlineData(28, 28, 2, 1)]
    [InlineData(18, 16, 2, 1)]
    [InlineData(32, 28, 2, 1)]
    [InlineData(14, 56, 2, 1)]
    public void Matches_the_reference_kernel(int channels, int size, int batch, int stride)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(7);
        using var conv = new Conv2dLayer(channels, channels, kernelSize: 3, stride: stride, padding: 1);
        var x = randn(batch, channels, size, size);
        var actual = conv.call(x);
        Res2Net.TorchRuntime.SetMkldnn(false);
        Tensor expected;
        try
        {
            expected = nn.functional.conv2d(x, conv.Weight, null, [stride, stride], [1, 1]);
        }
        finally
        {
            Res2Net.TorchRuntime.SetMkldnn(true);
        }

        var diff = (actual - expected).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"{channels} channels at {size}x{size}, batch {batch}: max |diff| {diff}");
    }

    [Theory]
    [InlineData(26, 28, 4, 1)]
    [InlineData(26, 28, 4, 2)]
    [InlineData(104, 14, 2, 1)]
    public void Gradients_match_the_reference_kernel(int channels, int size, int batch, int stride)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var conv = new Conv2dLayer(channels, channels, kernelSize: 3, stride: stride, padding: 1);
        var x = randn(batch, channels, size, size).requires_grad_();
        var upstream = randn_like(conv.call(x));

        (Tensor Input, Tensor Weight) Grads(bool oneDnn)
        {
            Res2Net.TorchRuntime.SetMkldnn(oneDnn);
            try
            {
                x.grad?.zero_();
                conv.Weight.grad?.zero_();
                var y = oneDnn ? conv.call(x) : nn.functional.conv2d(x, conv.Weight, null, [stride, stride], [1, 1]);
                (y * upstream).sum().backward();
                return (x.grad!.clone(), conv.Weight.grad!.clone());
            }
            finally
            {
                Res2Net.TorchRuntime.SetMkldnn(true);
            }
        }

        var (gx, gw) = Grads(oneDnn: true);
        var (rx, rw) = Grads(oneDnn: false);
        Assert.True((gx - rx).abs().max().item<float>() < 1e-3, "input gradient");
        Assert.True((gw - rw).abs().max().item<float>() / rw.abs().max().item<float>() < 1e-4, "weight gradient");
    }
}

/// <summary>Tests that flip process-wide LibTorch switches run apart from the ones that compute.</summary>
[CollectionDefinition(nameof(GlobalTorchState), DisableParallelization = true)]
public class GlobalTorchState
{
}
