using Res2Net.Models;
using TorchSharp;
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
    [InlineData(144, 16, 8, 1, 6)]   // Res2NeXt-29: 6 groups of 24 channels
    [InlineData(144, 16, 8, 2, 6)]
    [InlineData(144, 32, 2, 2, 6)]
    [InlineData(144, 32, 2, 1, 6)]
    [InlineData(288, 32, 2, 2, 6)]
    [InlineData(288, 16, 2, 1, 6)]
    [InlineData(288, 8, 8, 1, 6)]    // 48-channel groups
    public void Gradients_match_the_reference_kernel(int channels, int size, int batch, int stride, int groups = 1)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var conv = new Conv2dLayer(channels, channels, kernelSize: 3, stride: stride, padding: 1, groups: groups);
        var x = randn(batch, channels, size, size).requires_grad_();
        var upstream = randn_like(conv.call(x));

        (Tensor Input, Tensor Weight) Grads(bool oneDnn) => GlobalTorchState.WithOneDnn(oneDnn, () =>
        {
            x.grad?.zero_();
            conv.Weight.grad?.zero_();
            var y = oneDnn ? conv.call(x) : nn.functional.conv2d(x, conv.Weight, null, [stride, stride], [1, 1], groups: groups);
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
/// A whole training step of the small-image models (what `res2net train` runs) gives the parameter gradients of the same
/// step in float64 (LibTorch's double kernels, which oneDNN does not serve), with oneDNN as with the reference kernels.
/// </summary>
[Collection(nameof(GlobalTorchState))]
public class TrainingGradientTests
{
    [Theory]
    [InlineData("res2net_small", 1, 28, 32)]
    [InlineData("resnet_small", 1, 28, 32)]
    [InlineData("res2net_cifar_small", 1, 28, 16)]
    [InlineData("resnet_cifar_small", 3, 32, 8)]
    [InlineData("res2next29_6cx24wx4s", 3, 32, 2)]
    public void Match_float64(string name, int channels, int size, int batch)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = ModelRegistry.Create(name, numClasses: 10, inChannels: channels);
        model.train();
        var x = randn(batch, channels, size, size);
        var y = randint(10, [batch]);

        Dictionary<string, Tensor> Grads(Tensor input)
        {
            foreach (var p in model.parameters())
            {
                p.grad = null;
            }

            // Batch-norm running statistics change with every forward; the gradients do not depend on them.
            nn.functional.cross_entropy(model.call(input), y).backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.to(ScalarType.Float32).clone());
        }

        var oneDnn = GlobalTorchState.WithOneDnn(true, () => Grads(x));
        var reference = GlobalTorchState.WithOneDnn(false, () => Grads(x));
        model.to(ScalarType.Float64);
        var truth = Grads(x.to(ScalarType.Float64));

        (string Key, float Error) Worst(Dictionary<string, Tensor> grads) => truth.Keys
            .Select(k => (Key: k, Error: ((grads[k] - truth[k]).norm() / (truth[k].norm() + 1e-12f)).item<float>()))
            .MaxBy(e => e.Error);

        // Relative to each gradient's norm. Float32 summation alone gives up to 1.1% here (batch-norm bias gradients
        // cancel a lot); the defects found were 5-15% (a 36-channel bottleneck, strided grouped convolutions).
        var r = Worst(reference);
        Assert.True(r.Error < 2e-2, $"{name}: reference kernels, gradient of {r.Key} off by {r.Error:G3}");
        var o = Worst(oneDnn);
        Assert.True(o.Error < 2e-2, $"{name}: oneDNN, gradient of {o.Key} off by {o.Error:G3} (reference kernels: {r.Error:G3})");
    }
}
