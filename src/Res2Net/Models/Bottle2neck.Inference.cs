using Res2Net.LibTorch;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>The block's fast inference path: the same function, computed with fewer and better-shaped kernels.</summary>
internal sealed partial class Bottle2neck
{
    private InferencePlan? plan;
    private bool planGroupsFirstBlock;

    /// <summary>Whether <see cref="PrepareInference"/> is in effect.</summary>
    public bool HasInferencePlan => plan is not null;

    /// <summary>
    /// Snapshots the weights into an inference plan, used whenever gradients are off until the block is switched to
    /// training (or the plan is dropped). Batch norm is folded into the convolutions; every 3x3 convolution reads and
    /// writes groups padded to a multiple of 16 channels (zero weights for the extra inputs, zero filters for the extra
    /// outputs), which is oneDNN's block size: the 26-channel convolutions LibTorch gets wrong never occur, and the
    /// hierarchical sums need no copies. In the first block of a stage the s-1 convolutions are independent, so they run
    /// as one grouped convolution.
    /// </summary>
    public void PrepareInference(bool groupFirstBlock = true)
    {
        DropInference();
        using var noGrad = no_grad();
        plan = new InferencePlan(this, groupFirstBlock);
        planGroupsFirstBlock = groupFirstBlock;
    }

    /// <summary>Rebuilds the inference plan from the current weights, if there is one (after loading new weights).</summary>
    public void RefreshInference()
    {
        if (plan is not null)
        {
            PrepareInference(planGroupsFirstBlock);
        }
    }

    /// <summary>Casts the inference plan's folded weights (the model's own parameters are cast by Module.to).</summary>
    internal void ConvertInference(ScalarType dtype) => plan?.ConvertTo(dtype);

    /// <summary>Forgets the inference plan (the block then always runs its training-time path).</summary>
    public void DropInference()
    {
        plan?.Dispose();
        plan = null;
    }

    public override void train(bool train = true)
    {
        if (train)
        {
            DropInference();
        }

        base.train(train);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropInference();
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// <paramref name="t"/> in <paramref name="dtype"/>: itself if it already is, else a cast copy, and
    /// <paramref name="t"/> is disposed (inference plans own their folded weights).
    /// </summary>
    internal static Tensor CastReplacing(Tensor t, ScalarType dtype)
    {
        if (t.dtype == dtype)
        {
            return t;
        }

        var cast = t.to(dtype);
        t.Dispose();
        return cast;
    }

    private sealed class InferencePlan : IDisposable
    {
        private readonly Bottle2neck block;
        private readonly int padded;
        private readonly Tensor[] ws, bs;
        private Tensor w1, b1, w3, b3;
        private Tensor? wGrouped, bGrouped;
        private Tensor? wDown, bDown;
        private readonly ShortcutPool downPool;
        private readonly long downStride;
        private readonly long conv1Stride;

        public InferencePlan(Bottle2neck block, bool groupFirstBlock)
        {
            this.block = block;
            using var scope = NewDisposeScope();
            using var folded = block.Fold();
            var width = block.Width;
            // LibTorch's defect 1 (LibTorchDefects.ChannelPadding): plain groups of 17-31, 33-47 ... channels are padded.
            padded = LibTorchDefects.PaddedWidth(width, block.Groups);
            var scale = block.Scale;
            conv1Stride = folded.Conv1.Stride;

            // Where the branches run one at a time, each reads its padded group as a window of conv1's unpadded map:
            // branch i reads `padded` channels from i * width, the extra ones belong to the next group and meet zero
            // weight columns. That spares conv1 and conv3 the padded channels (a sixth more work in the first two
            // stages of res2net50_26w_4s, which oneDNN's 16-channel blocks only partly absorb). The grouped first-block
            // convolution needs its groups at multiples of `padded`, and a single group (scale 1) has no next group to
            // read into, so there conv1 writes them padded.
            var grouped = block.FirstInStage && groupFirstBlock && block.Groups == 1 && block.BranchCount > 1;
            var groupPadding = grouped || scale == 1 ? padded : width;

            // conv1 + bn1, its output groups padded with zero filters (bias 0, so ReLU keeps them 0).
            w1 = Own(PadGroups(folded.Conv1.Weight, 0, scale, width, groupPadding), folded.Conv1.Weight);
            b1 = Own(PadGroups(folded.Conv1.Bias, 0, scale, width, groupPadding), folded.Conv1.Bias);

            ws = new Tensor[block.BranchCount];
            bs = new Tensor[block.BranchCount];
            for (var i = 0; i < block.BranchCount; i++)
            {
                var (fw, fb) = (folded.Branches[i].Weight, folded.Branches[i].Bias);
                ws[i] = Own(block.Groups == 1 ? PadTo(PadTo(fw, 0, padded), 1, padded) : fw, fw);
                bs[i] = Own(block.Groups == 1 ? PadTo(fb, 0, padded) : fb, fb);
            }

            if (grouped)
            {
                wGrouped = cat(ws, 0).contiguous();
                bGrouped = cat(bs, 0).contiguous();
            }

            // conv3 + bn3, with zero input columns where the groups are padded.
            w3 = Own(PadGroups(folded.Conv3.Weight, 1, scale, width, groupPadding), folded.Conv3.Weight);
            b3 = folded.Conv3.Bias.clone();

            if (folded.Shortcut is { } down)
            {
                (wDown, bDown) = (down.Weight.clone(), down.Bias.clone());
                downPool = folded.ShortcutPool;
                downStride = folded.ShortcutStride;
            }

            // The plan's own tensors outlive the scope; the folded description and the intermediates go with it.
            foreach (var t in new[] { w1, b1, w3, b3, wGrouped, bGrouped, wDown, bDown }.Concat(ws).Concat(bs))
            {
                t?.MoveToOuterDisposeScope();
            }

            // Folded in float64, rounded to float32; stored as the block's parameters are (bfloat16 after a conversion).
            ConvertTo(block.conv1.Weight.dtype);
        }

        /// <summary><paramref name="t"/>, or a copy of it when it is <paramref name="source"/> (which is disposed with the description).</summary>
        private static Tensor Own(Tensor t, Tensor source) => ReferenceEquals(t, source) ? t.contiguous().clone() : t.contiguous();

        public void ConvertTo(ScalarType dtype)
        {
            Tensor Cast(Tensor t) => CastReplacing(t, dtype);

            (w1, b1, w3, b3) = (Cast(w1), Cast(b1), Cast(w3), Cast(b3));
            (wGrouped, bGrouped) = wGrouped is null ? (null, null) : (Cast(wGrouped), Cast(bGrouped!));
            (wDown, bDown) = wDown is null ? (null, null) : (Cast(wDown), Cast(bDown!));
            for (var i = 0; i < ws.Length; i++)
            {
                (ws[i], bs[i]) = (Cast(ws[i]), Cast(bs[i]));
            }
        }

        public Tensor Forward(Tensor x, Tensor? residual)
        {
            using var scope = NewDisposeScope();
            var b = block;
            long[] stride = [b.Stride, b.Stride], pad = [b.Dilation, b.Dilation], dil = [b.Dilation, b.Dilation];
            var y = functional.conv2d(conv1Stride > 1 ? LibTorchDefects.EveryStride(x, conv1Stride) : x, w1, b1).relu_();
            Tensor merged;
            if (b.Scale == 1)
            {
                merged = functional.conv2d(y, ws[0], bs[0], stride, pad, dil, b.Groups).relu_();
            }
            else
            {
                var outputs = new List<Tensor>(b.Scale);
                Tensor last;
                if (wGrouped is null)
                {
                    Tensor? sp = null;
                    for (var i = 0; i < b.BranchCount; i++)
                    {
                        var window = y.narrow(1, i * b.Width, padded);
                        sp = i == 0 || b.FirstInStage ? window : sp! + window;
                        sp = functional.conv2d(sp, ws[i], bs[i], stride, pad, dil, b.Groups).relu_();
                        outputs.Add(sp.narrow(1, 0, b.Width));
                    }

                    last = y.narrow(1, b.BranchCount * b.Width, b.Width);
                }
                else
                {
                    var head = y.narrow(1, 0, padded * b.BranchCount);
                    outputs.Add(functional.conv2d(head, wGrouped, bGrouped, stride, pad, dil, b.BranchCount).relu_());
                    last = y.narrow(1, padded * b.BranchCount, padded);
                }

                outputs.Add(b.pool is null ? last : b.pool.call(LibTorchDefects.ChannelsLastForPooling(last)).contiguous());
                merged = cat(outputs, 1);
            }

            var result = functional.conv2d(merged, w3, b3);
            Tensor shortcut;
            if (residual is not null)
            {
                shortcut = residual;
            }
            else if (wDown is not null)
            {
                if (downPool == ShortcutPool.AverageSame)
                {
                    shortcut = functional.conv2d(AvgPoolSame.Apply(x), wDown, bDown);
                }
                else if (downPool == ShortcutPool.Average)
                {
                    var pooled = functional.avg_pool2d(LibTorchDefects.ChannelsLastForPooling(x), downStride, downStride, ceil_mode: true, count_include_pad: false).contiguous();
                    shortcut = functional.conv2d(pooled, wDown, bDown);
                }
                else
                {
                    // A strided 1x1 convolution is the same convolution on every s-th pixel, and that is faster here.
                    shortcut = functional.conv2d(downStride > 1 ? LibTorchDefects.EveryStride(x, downStride) : x, wDown, bDown);
                }
            }
            else
            {
                shortcut = x;
            }

            return result.add_(shortcut).relu_().MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            foreach (var t in new[] { w1, b1, w3, b3, wGrouped, bGrouped, wDown, bDown }.Concat(ws).Concat(bs))
            {
                t?.Dispose();
            }
        }

        /// <summary>Pads dimension <paramref name="dim"/>, made of <paramref name="groups"/> groups of <paramref name="width"/>, to groups of <paramref name="padded"/>.</summary>
        private static Tensor PadGroups(Tensor t, int dim, int groups, int width, int padded)
        {
            if (padded == width)
            {
                return t.contiguous();
            }

            var parts = t.split(width, dim).Select(p => PadTo(p, dim, padded)).ToList();
            return cat(parts, dim).contiguous();
        }

        private static Tensor PadTo(Tensor t, int dim, int size)
        {
            var missing = size - t.shape[dim];
            if (missing == 0)
            {
                return t;
            }

            var shape = t.shape.ToArray();
            shape[dim] = missing;
            return cat([t, zeros(shape, t.dtype)], dim);
        }
    }
}
