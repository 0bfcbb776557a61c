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
        var expected = GlobalTorchState.WithOneDnn(false, () => nn.functional.conv2d(x, conv.Weight, null, [stride, stride], [1, 1]));

        var diff = (actual - expected).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"{channels} channels at {size}x{size}, batch {batch}: max |diff| {diff}");
    }

    [Theory]
    [InlineData(26, 28, 4, 1)]
    [InlineData(26, 28, 4, 2)]
    [InlineData(104, 14, 2, 1)]
    [InlineData(64, 4, 32, 1)]
    [InlineData(64, 8, 32, 2)]
    [InlineData(32, 7, 32, 1)]
    [InlineData(32, 14, 32, 2)]
    [InlineData(16, 14, 32, 1)]
    [InlineData(36, 14, 32, 1)]
    [InlineData(144, 4, 32, 1)]
    public void Gradients_match_the_reference_kernel(int channels, int size, int batch, int stride)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var conv = new Conv2dLayer(channels, channels, kernelSize: 3, stride: stride, padding: 1);
        var x = randn(batch, channels, size, size).requires_grad_();
        var upstream = randn_like(conv.call(x));

        (Tensor Input, Tensor Weight) Grads(bool oneDnn) => GlobalTorchState.WithOneDnn(oneDnn, () =>
        {
            x.grad?.zero_();
            conv.Weight.grad?.zero_();
            var y = oneDnn ? conv.call(x) : nn.functional.conv2d(x, conv.Weight, null, [stride, stride], [1, 1]);
            (y * upstream).sum().backward();
            return (x.grad!.clone(), conv.Weight.grad!.clone());
        });

        var (gx, gw) = Grads(oneDnn: true);
        var (rx, rw) = Grads(oneDnn: false);
        var ex = (gx - rx).abs().max().item<float>() / rx.abs().max().item<float>();
        var ew = (gw - rw).abs().max().item<float>() / rw.abs().max().item<float>();
        Assert.True(ex < 1e-4 && ew < 1e-4, $"input gradient off by {ex:G3}, weight gradient by {ew:G3}, relative to their largest values");
    }
}

/// <summary>Tests that flip process-wide LibTorch switches run apart from the ones that compute.</summary>
[CollectionDefinition(nameof(GlobalTorchState), DisableParallelization = true)]
public class GlobalTorchState
{
    /// <summary>Runs <paramref name="compute"/> with oneDNN on or off (LibTorch's reference kernels), then turns it back on.</summary>
    public static T WithOneDnn<T>(bool enabled, Func<T> compute)
    {
        Res2Net.TorchRuntime.SetMkldnn(enabled);
        try
        {
            return compute();
        }
        finally
        {
            Res2Net.TorchRuntime.SetMkldnn(true);
        }
    }
}

/// <summary>
/// LibTorch 2.10's oneDNN kills the process (SIGFPE) computing the input gradient of some strided 1x1 convolutions;
/// the model's convolution computes them as a 1x1 convolution of the subsampled input, with the same values.
/// </summary>
[Collection(nameof(GlobalTorchState))]
public class StridedPointwiseTests
{
    [Theory]
    [InlineData(512, 1024, 14, 8)]
    [InlineData(256, 512, 28, 8)]
    [InlineData(1024, 2048, 14, 2)]
    public void Gradients_match_the_reference_kernel(int cin, int cout, int size, int batch)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var conv = new Conv2dLayer(cin, cout, kernelSize: 1, stride: 2);
        var x = randn(batch, cin, size, size).requires_grad_();
        var y = conv.call(x);
        var upstream = randn_like(y);
        (y * upstream).sum().backward();
        var (gx, gw) = (x.grad!.clone(), conv.Weight.grad!.clone());

        var expected = GlobalTorchState.WithOneDnn(false, () =>
        {
            x.grad!.zero_();
            conv.Weight.grad!.zero_();
            var reference = nn.functional.conv2d(x, conv.Weight, null, [2, 2]);
            (reference * upstream).sum().backward();
            return reference;
        });

        Assert.True((y - expected).abs().max().item<float>() < 1e-4, "output");
        Assert.True((gx - x.grad!).abs().max().item<float>() / x.grad!.abs().max().item<float>() < 1e-5, "input gradient");
        Assert.True((gw - conv.Weight.grad!).norm().item<float>() / conv.Weight.grad!.norm().item<float>() < 1e-4, "weight gradient");
    }
}

/// <summary>
/// A whole training step of the small-image models (what `res2net train` runs) gives the same loss and parameter
/// gradients with oneDNN as with LibTorch's reference kernels.
/// </summary>
[Collection(nameof(GlobalTorchState))]
public class TrainingGradientTests
{
    [Theory]
    [InlineData("res2net_small", 1, 28, 32)]
    [InlineData("resnet_small", 1, 28, 32)]
    [InlineData("res2net_cifar_small", 1, 28, 16)]
    [InlineData("resnet_cifar_small", 3, 32, 8)]
    [InlineData("res2next29_6cx24wx4s", 3, 32, 2, Skip = "Known LibTorch 2.10 defect, not worked around: layer2.0.bn1's gradient comes out 5.6% off (README, Training)")]
    public void Match_the_reference_kernels(string name, int channels, int size, int batch)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = ModelRegistry.Create(name, numClasses: 10, inChannels: channels);
        model.train();
        var x = randn(batch, channels, size, size);
        var y = randint(10, [batch]);

        Dictionary<string, Tensor> Grads(bool oneDnn) => GlobalTorchState.WithOneDnn(oneDnn, () =>
        {
            foreach (var p in model.parameters())
            {
                p.grad?.zero_();
            }

            // Batch-norm running statistics change with every forward; the gradients do not depend on them.
            nn.functional.cross_entropy(model.call(x), y).backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        });

        var actual = Grads(oneDnn: true);
        var expected = Grads(oneDnn: false);

        // Relative to each gradient's norm: summation order differs between the kernels (batch-norm gradients cancel
        // a lot, so up to ~0.3% here), while the bugs seen were 5-15% (a 36-channel bottleneck).
        var worst = expected.Keys
            .Select(k => (Key: k, Error: ((actual[k] - expected[k]).norm() / (expected[k].norm() + 1e-12f)).item<float>()))
            .MaxBy(e => e.Error);
        Assert.True(worst.Error < 1e-2, $"{name}: gradient of {worst.Key} off by {worst.Error:G3} of its norm");
    }
}
