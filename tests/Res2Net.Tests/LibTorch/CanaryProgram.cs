using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Tests.LibTorch;

/// <summary>
/// The test assembly's entry point, for canaries whose defect kills the process: a test runs
/// <c>dotnet exec Res2Net.Tests.dll canary NAME</c> and looks at how the child ended. Without arguments it does nothing.
/// </summary>
public static class CanaryProgram
{
    public static int Main(string[] args)
    {
        if (args.Length != 2 || args[0] != "canary")
        {
            return 0;
        }

        InitializeDeviceType(DeviceType.CPU);
        using var scope = NewDisposeScope();
        manual_seed(3);
        switch (args[1])
        {
            case "strided-pointwise-backward":
                {
                    // Defect 2, unprotected: the input gradient of a strided 1x1 convolution, 512 to 1024 channels at 14x14.
                    var x = randn(8, 512, 14, 14).requires_grad_();
                    var w = randn(1024, 512, 1, 1).requires_grad_();
                    var y = nn.functional.conv2d(x, w, null, [2, 2]);
                    y.sum().backward();
                    Console.WriteLine(x.grad!.abs().sum().item<float>());
                    return 0;
                }

            case "channels-last-pointwise":
                {
                    // Defect 5, unprotected: a channels-last 1x1 convolution, 512 to 1024 channels at 14x14.
                    using var noGrad = no_grad();
                    var x = randn(8, 512, 14, 14).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
                    var w = randn(1024, 512, 1, 1).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
                    var y = nn.functional.conv2d(x, w, null);
                    Console.WriteLine(y.abs().sum().item<float>());
                    return 0;
                }

            case "nnpack":
                {
                    // Defect 6, unprotected (NNPACK left on): a batch-1 convolution on a small map.
                    using var noGrad = no_grad();
                    var y = nn.functional.conv2d(randn(1, 16, 8, 8), randn(16, 16, 3, 3), null, padding: [1, 1]);
                    Console.WriteLine(y.abs().sum().item<float>());
                    return 0;
                }

            default:
                return 2;
        }
    }
}
