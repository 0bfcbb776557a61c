using Res2Net.Imaging;
using static TorchSharp.torch;

namespace Res2Net.Training;

/// <summary>
/// Turns dataset bytes into normalised float batches (N, C, S, S): augmentation in plain C# on the bytes (cheap at
/// these sizes, and deterministic under a seeded <see cref="Random"/>), then one tensor per batch. Grayscale images
/// are repeated to three channels when the model expects RGB.
/// </summary>
internal sealed class BatchMaker
{
    private readonly ImageDataset data;
    private readonly float[][] table;
    private readonly IReadOnlyList<float> mean;
    private readonly IReadOnlyList<float> std;

    /// <param name="data">The images.</param>
    /// <param name="modelChannels">Channels the model takes (gray images are repeated for an RGB model).</param>
    /// <param name="outputSize">Side of the model input.</param>
    /// <param name="preprocess">The normalisation (its mean and std, for <paramref name="modelChannels"/> channels).</param>
    public BatchMaker(ImageDataset data, int modelChannels, int outputSize, PreprocessConfig preprocess)
    {
        if (data.Channels != modelChannels && !(data.Channels == 1 && modelChannels == 3))
        {
            throw new ArgumentException($"{data.Name} has {data.Channels}-channel images, which a {modelChannels}-channel model cannot take.");
        }

        this.data = data;
        Channels = modelChannels;
        Size = outputSize;
        table = PixelTables.For(preprocess, modelChannels);
        (mean, std) = (preprocess.ForChannels(modelChannels).Mean, preprocess.ForChannels(modelChannels).Std);
    }

    public int Channels { get; }

    public int Size { get; }

    /// <summary>The images at <paramref name="indices"/> as a normalised batch, augmented when <paramref name="random"/> is given.</summary>
    public (Tensor Images, Tensor Labels) Make(ReadOnlySpan<int> indices, Augmentation augmentation, Random? random)
    {
        var plane = Size * Size;
        var output = new float[indices.Length * Channels * plane];
        var labels = new long[indices.Length];
        var source = new byte[data.ImageBytes];
        for (var n = 0; n < indices.Length; n++)
        {
            var index = indices[n];
            labels[n] = data.Labels[index];
            Array.Copy(data.Pixels, (long)index * data.ImageBytes, source, 0, data.ImageBytes);
            var dst = output.AsSpan(n * Channels * plane, Channels * plane);
            if (random is not null && augmentation.RandomResizedCrop)
            {
                ResizedCrop(source, dst, random);
            }
            else
            {
                var pad = random is null ? 0 : augmentation.CropPadding;
                var dx = pad == 0 ? 0 : random!.Next(-pad, pad + 1);
                var dy = pad == 0 ? 0 : random!.Next(-pad, pad + 1);
                var flip = random is not null && augmentation.HorizontalFlip && random.Next(2) == 1;
                Shifted(source, dst, dx, dy, flip);
                continue;
            }

            if (augmentation.HorizontalFlip && random.Next(2) == 1)
            {
                for (var c = 0; c < Channels; c++)
                {
                    for (var y = 0; y < Size; y++)
                    {
                        dst.Slice((c * plane) + (y * Size), Size).Reverse();
                    }
                }
            }
        }

        return (tensor(output, [indices.Length, Channels, Size, Size]), tensor(labels));
    }

    /// <summary>
    /// The padded random crop: output (x, y) is source (x + dx, y + dy), zero (before normalisation) outside the image;
    /// a source larger than the output is centre-cut first (dataset stored larger than the model input).
    /// </summary>
    private void Shifted(byte[] source, Span<float> dst, int dx, int dy, bool flip)
    {
        int h = data.Height, w = data.Width, plane = Size * Size;
        int offY = (h - Size) / 2, offX = (w - Size) / 2;
        for (var c = 0; c < Channels; c++)
        {
            var srcPlane = (data.Channels == 1 ? 0 : c) * h * w;
            var lut = table[c];
            var b = lut[0];
            for (var y = 0; y < Size; y++)
            {
                var sy = y + dy + offY;
                var row = dst.Slice((c * plane) + (y * Size), Size);
                if (sy < 0 || sy >= h)
                {
                    row.Fill(b);
                    continue;
                }

                for (var x = 0; x < Size; x++)
                {
                    var sx = (flip ? Size - 1 - x : x) + dx + offX;
                    row[x] = sx < 0 || sx >= w ? b : lut[source[srcPlane + (sy * w) + sx]];
                }
            }
        }
    }

    /// <summary>torchvision's RandomResizedCrop: an area of 8-100% and aspect 3/4-4/3, bilinear to the output size.</summary>
    private void ResizedCrop(byte[] source, Span<float> dst, Random random)
    {
        int h = data.Height, w = data.Width, plane = Size * Size;
        double area = h * w;
        int cw = w, ch = h, left = 0, top = 0;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * (0.08 + (random.NextDouble() * 0.92));
            var ratio = Math.Exp(Math.Log(3.0 / 4) + (random.NextDouble() * (Math.Log(4.0 / 3) - Math.Log(3.0 / 4))));
            int tw = (int)Math.Round(Math.Sqrt(target * ratio)), th = (int)Math.Round(Math.Sqrt(target / ratio));
            if (tw > 0 && th > 0 && tw <= w && th <= h)
            {
                (cw, ch) = (tw, th);
                left = random.Next(w - tw + 1);
                top = random.Next(h - th + 1);
                break;
            }
        }

        for (var c = 0; c < Channels; c++)
        {
            var srcPlane = (data.Channels == 1 ? 0 : c) * h * w;
            float m = mean[c], sd = std[c];
            for (var y = 0; y < Size; y++)
            {
                var fy = Math.Clamp(top + (((y + 0.5) * ch / Size) - 0.5), 0, h - 1);
                int y0 = (int)fy, y1 = Math.Min(y0 + 1, h - 1);
                var wy = (float)(fy - y0);
                for (var x = 0; x < Size; x++)
                {
                    var fx = Math.Clamp(left + (((x + 0.5) * cw / Size) - 0.5), 0, w - 1);
                    int x0 = (int)fx, x1 = Math.Min(x0 + 1, w - 1);
                    var wx = (float)(fx - x0);
                    var v = ((1 - wy) * (((1 - wx) * source[srcPlane + (y0 * w) + x0]) + (wx * source[srcPlane + (y0 * w) + x1])))
                        + (wy * (((1 - wx) * source[srcPlane + (y1 * w) + x0]) + (wx * source[srcPlane + (y1 * w) + x1])));
                    dst[(c * plane) + (y * Size) + x] = ((v / 255f) - m) / sd;
                }
            }
        }
    }
}
