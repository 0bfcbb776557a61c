using Res2Net.LibTorch;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>The stem's fast inference path (the blocks have theirs in <see cref="Bottle2neck"/>).</summary>
public sealed partial class Res2NetModel
{
    private StemPlan? stemPlan;

    /// <inheritdoc/>
    public override bool HasStemInferencePlan => stemPlan is not null;

    /// <inheritdoc/>
    private protected override void PrepareStemInference()
    {
        DropStemInference();
        using var noGrad = no_grad();
        stemPlan = new StemPlan(this);
    }

    /// <inheritdoc/>
    private protected override void ConvertStemInference(ScalarType dtype) => stemPlan?.ConvertTo(dtype);

    private void DropStemInference()
    {
        stemPlan?.Dispose();
        stemPlan = null;
    }

    /// <inheritdoc/>
    public override void train(bool train = true)
    {
        if (train)
        {
            DropStemInference();
        }

        base.train(train);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropStemInference();
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// The stem with every batch norm folded into its convolution, and the 3x3 max pool computed on a channels-last
    /// copy: LibTorch 2.10's max pool on NCHW maps is 5-20x slower than its channels-last kernel here (batch 8,
    /// 64x112x112: 29 ms, against 6 ms including both layout changes). Same values: max and layout changes are exact.
    /// </summary>
    private sealed class StemPlan : IDisposable
    {
        private readonly (Tensor Weight, Tensor Bias, long Stride, long Padding)[] convs;
        private readonly bool maxPool;

        public StemPlan(Res2NetModel model)
        {
            // The folded convolutions own their tensors; the plan keeps them (cast in place by ConvertTo).
            convs = model.FoldStem().Select(c => (c.Weight, c.Bias, c.Stride, c.Padding)).ToArray();
            maxPool = model.maxpool is not null;
            ConvertTo(model.bn1.weight!.dtype);
        }

        public void ConvertTo(ScalarType dtype)
        {
            for (var i = 0; i < convs.Length; i++)
            {
                var (w, b, stride, padding) = convs[i];
                convs[i] = (Bottle2neck.CastReplacing(w, dtype), Bottle2neck.CastReplacing(b, dtype), stride, padding);
            }
        }

        public Tensor Forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            foreach (var (w, b, stride, padding) in convs)
            {
                x = functional.conv2d(x, w, b, [stride, stride], [padding, padding]).relu_();
            }

            if (maxPool)
            {
                x = functional.max_pool2d(LibTorchDefects.ChannelsLastForPooling(x), 3, 2, 1).contiguous();
            }

            return x.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            foreach (var (w, b, _, _) in convs)
            {
                w.Dispose();
                b.Dispose();
            }
        }
    }
}
