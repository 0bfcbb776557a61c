using Res2Net.Models;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>Fresh batch norms are identities; random statistics and affine parameters make folding visible in the outputs.</summary>
internal static class BatchNormStatistics
{
    public static void Randomise(Res2NetBackbone model, int seed = 3)
    {
        using var noGrad = no_grad();
        using var g = new Generator((ulong)seed);
        foreach (var (_, m) in model.named_modules())
        {
            if (m is TorchSharp.Modules.BatchNorm2d bn)
            {
                using var scope = NewDisposeScope();
                bn.running_mean!.copy_(randn(bn.running_mean.shape, generator: g) * 0.1);
                bn.running_var!.copy_(rand(bn.running_var.shape, generator: g) + 0.5);
                bn.weight!.copy_(rand(bn.weight.shape, generator: g) + 0.5);
                bn.bias!.copy_(randn(bn.bias.shape, generator: g) * 0.1);
            }
        }
    }
}
