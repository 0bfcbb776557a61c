namespace Res2Net.Imaging;

/// <summary>
/// PIL's <c>Image.resize</c> for 8-bit images (libImaging/Resample.c, Pillow 9.4), ported so that results agree with
/// torchvision's PIL pipeline byte for byte: separable convolution, horizontal pass first and rounded to 8 bits before
/// the vertical pass, filters stretched by the scale when downscaling (antialiasing), weights in 22-bit fixed point.
/// LibTorch's antialiased interpolate comes close (a few pixels one level off) but not exact; Skia's samplers do not.
/// </summary>
internal static class PilResample
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>A PIL resampling filter: its support at scale 1 and its kernel.</summary>
    internal sealed record Filter(double Support, Func<double, double> Kernel);

    internal static readonly Filter Bilinear = new(1.0, x =>
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    });

    // PIL's bicubic uses a = -0.5 (torchvision's tensor bicubic uses -0.75; the PIL path is the reference here).
    internal static readonly Filter Bicubic = new(2.0, x =>
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0)
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0)
            return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    });

    /// <summary>
    /// Resizes interleaved 8-bit pixels (<paramref name="channels"/> bytes each) to <paramref name="outWidth"/> x
    /// <paramref name="outHeight"/> and returns only the window at (<paramref name="left"/>, <paramref name="top"/>) of
    /// <paramref name="windowWidth"/> x <paramref name="windowHeight"/>. Each output pixel depends on its own weights
    /// alone, so computing just the window gives the same bytes as resizing everything and cropping, for less work
    /// (and bounded memory when a thin image is enlarged a lot).
    /// </summary>
    public static byte[] ResizeWindow(byte[] src, int width, int height, int channels, int outWidth, int outHeight,
        int left, int top, int windowWidth, int windowHeight, Filter filter)
    {
        var horizontal = Coefficients(width, outWidth, left, windowWidth, filter);
        var vertical = Coefficients(height, outHeight, top, windowHeight, filter);

        // Only the source rows the vertical pass reads go through the horizontal pass, as in PIL. PIL skips a pass
        // whose size does not change; that pass would be the identity, so copying the window's columns is the same.
        int firstRow = outHeight == height ? top : vertical.Bounds[0];
        int rows = outHeight == height
            ? windowHeight
            : vertical.Bounds[2 * windowHeight - 2] + vertical.Bounds[2 * windowHeight - 1] - firstRow;
        int rowLength = windowWidth * channels;
        var temp = new byte[(long)rows * rowLength];
        if (outWidth != width)
        {
            Parallel.For(0, rows, y => HorizontalRow(src, (long)(firstRow + y) * width * channels, temp,
                (long)y * rowLength, channels, windowWidth, horizontal));
        }
        else
        {
            for (int y = 0; y < rows; y++)
                Array.Copy(src, ((long)(firstRow + y) * width + left) * channels, temp, (long)y * rowLength, rowLength);
        }

        if (outHeight == height)
            return temp;

        var dst = new byte[(long)windowHeight * rowLength];
        Parallel.For(0, windowHeight, y => VerticalRow(temp, firstRow, rowLength, dst, y, vertical));
        return dst;
    }

    private static void HorizontalRow(byte[] input, long inRow, byte[] output, long outRow, int channels, int outWidth, Coeffs c)
    {
        for (int i = 0; i < outWidth; i++)
        {
            int min = c.Bounds[2 * i], count = c.Bounds[2 * i + 1], k = i * c.KernelSize;
            for (int ch = 0; ch < channels; ch++)
            {
                int acc = 1 << (PrecisionBits - 1);
                long at = inRow + (long)min * channels + ch;
                for (int j = 0; j < count; j++, at += channels)
                    acc += input[at] * c.Weights[k + j];
                output[outRow + (long)i * channels + ch] = Clip(acc);
            }
        }
    }

    /// <summary>One output row of the vertical pass; <paramref name="firstRow"/> is the source row that input row 0 holds.</summary>
    private static void VerticalRow(byte[] input, int firstRow, int rowLength, byte[] output, int y, Coeffs c)
    {
        int min = c.Bounds[2 * y] - firstRow, count = c.Bounds[2 * y + 1], k = y * c.KernelSize;
        var acc = new int[rowLength];
        Array.Fill(acc, 1 << (PrecisionBits - 1));
        for (int j = 0; j < count; j++)
        {
            int w = c.Weights[k + j];
            var row = input.AsSpan((int)((long)(min + j) * rowLength), rowLength);
            for (int x = 0; x < row.Length; x++)
                acc[x] += row[x] * w;
        }

        var dst = output.AsSpan((int)((long)y * rowLength), rowLength);
        for (int x = 0; x < dst.Length; x++)
            dst[x] = Clip(acc[x]);
    }

    private static byte Clip(int acc)
    {
        acc >>= PrecisionBits;
        return (byte)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
    }

    internal sealed record Coeffs(int KernelSize, int[] Bounds, int[] Weights);

    /// <summary>PIL's precompute_coeffs and normalize_coeffs_8bpc, for outputs first .. first + count - 1 only.</summary>
    private static Coeffs Coefficients(int inSize, int outSize, int first, int count, Filter filter)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filter.Support * filterScale;
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[count * 2];
        var weights = new int[count * kernelSize];
        var k = new double[kernelSize];
        for (int i = 0; i < count; i++)
        {
            double center = (first + i + 0.5) * scale;
            double total = 0.0, ss = 1.0 / filterScale;

            // (int) truncates toward zero, as C's cast does.
            int min = Math.Max((int)(center - support + 0.5), 0);
            int max = Math.Min((int)(center + support + 0.5), inSize) - min;
            for (int x = 0; x < max; x++)
            {
                k[x] = filter.Kernel((x + min - center + 0.5) * ss);
                total += k[x];
            }

            for (int x = 0; x < max; x++)
            {
                double w = total != 0.0 ? k[x] / total : k[x];
                weights[i * kernelSize + x] = w < 0
                    ? (int)(-0.5 + w * (1 << PrecisionBits))
                    : (int)(0.5 + w * (1 << PrecisionBits));
            }

            bounds[2 * i] = min;
            bounds[2 * i + 1] = max;
        }

        return new Coeffs(kernelSize, bounds, weights);
    }
}
