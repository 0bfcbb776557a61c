using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>
/// timm's AvgPool2dSame(2, stride 1) as its v1b shortcut uses it in a dilated stage: the map padded with one row and
/// one column of zeros at the bottom and right, then 2x2 averages at stride 1. The zeros count in the averages (they
/// are real input to the pool), so the last row and column are averaged with them; the output keeps the input's size.
/// </summary>
internal sealed class AvgPoolSame : Module<Tensor, Tensor>
{
    public AvgPoolSame()
        : base(nameof(AvgPoolSame))
    {
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Apply(input);

    /// <summary>The pooling, as a function (the inference plan applies it to a channels-last copy).</summary>
    public static Tensor Apply(Tensor input)
    {
        using var scope = NewDisposeScope();
        return functional.avg_pool2d(functional.pad(input, [0, 1, 0, 1]), 2, 1).MoveToOuterDisposeScope();
    }
}
