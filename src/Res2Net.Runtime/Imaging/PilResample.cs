using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Res2Net.Imaging;

/// <summary>
/// PIL's <c>Image.resize</c> for 8-bit images (libImaging/Resample.c, Pillow 9.4), vectorised, and fused with
/// torchvision's <c>CenterCrop</c> + <c>ToTensor</c> + <c>Normalize</c>. It gives the same bytes as
/// <c>PilResample</c> (and so as Pillow 9.4) and the same floats as normalising those bytes: every vector path
/// does the very integer arithmetic of the scalar one (int32 products of bytes and PIL's 22-bit int32 weights, int32
/// sums, the same rounding constant, shift and clip), and the float step is IEEE single precision throughout, so lane
/// order cannot change a result. Unlike Pillow-SIMD, weights are never narrowed to 16 bits (that changes results).
/// </summary>
/// <remarks>
/// The best instruction set (AVX-512, AVX2, else scalar) is picked once at startup. Single-threaded per call and
/// thread-safe: the only shared state is an immutable coefficient cache, and scratch memory comes from
/// <see cref="ArrayPool{T}.Shared"/>, so calls make no garbage apart from the cache's first use of a size.
/// </remarks>
internal static class PilResample
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>A PIL resampling filter: its support at scale 1 and its kernel (same shape as <c>PilResample.Filter</c>).</summary>
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
        {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }

        if (x < 2.0)
        {
            return (((x - 5) * x + 8) * x - 4) * a;
        }

        return 0.0;
    });

    /// <summary>The code paths; tests run each one the machine supports against the others.</summary>
    internal enum Isa
    {
        Scalar,
        Avx2,
        Avx512,
    }

    /// <summary>
    /// The path this process uses: AVX-512 only where the runtime itself prefers 512-bit vectors (it declines them on
    /// CPUs that slow down for them), else AVX2, else scalar.
    /// </summary>
    internal static Isa BestIsa { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported ? Isa.Avx512
        : Avx2.IsSupported ? Isa.Avx2
        : Isa.Scalar;

    internal static bool IsSupported(Isa isa) => isa switch
    {
        Isa.Scalar => true,
        Isa.Avx2 => Avx2.IsSupported,
        Isa.Avx512 => Avx512F.IsSupported && Avx512BW.IsSupported,
        _ => false,
    };

    /// <summary>
    /// Resizes interleaved 8-bit pixels to <paramref name="outWidth"/> x <paramref name="outHeight"/> and returns only
    /// the window at (<paramref name="left"/>, <paramref name="top"/>) of <paramref name="windowWidth"/> x
    /// <paramref name="windowHeight"/>, interleaved: same signature and bytes as <c>PilResample.ResizeWindow</c>.
    /// </summary>
    public static byte[] ResizeWindow(byte[] src, int width, int height, int channels, int outWidth, int outHeight,
        int left, int top, int windowWidth, int windowHeight, Filter filter)
    {
        ArgumentNullException.ThrowIfNull(src);
        Validate(src.Length, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter);
        var dst = new byte[(long)windowWidth * windowHeight * channels];
        Run(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter, BestIsa,
            dst, default, default, default);
        return dst;
    }

    /// <summary>
    /// As <see cref="ResizeWindow(byte[], int, int, int, int, int, int, int, int, int, Filter)"/>, into
    /// <paramref name="destination"/> (at least <c>windowWidth * windowHeight * channels</c> bytes, interleaved).
    /// </summary>
    public static void ResizeWindow(ReadOnlySpan<byte> src, int width, int height, int channels, int outWidth,
        int outHeight, int left, int top, int windowWidth, int windowHeight, Filter filter, Span<byte> destination) =>
        ResizeWindow(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter,
            destination, BestIsa);

    internal static void ResizeWindow(ReadOnlySpan<byte> src, int width, int height, int channels, int outWidth,
        int outHeight, int left, int top, int windowWidth, int windowHeight, Filter filter, Span<byte> destination, Isa isa)
    {
        Validate(src.Length, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter);
        CheckIsa(isa);
        if ((long)destination.Length < (long)windowWidth * windowHeight * channels)
        {
            throw new ArgumentException($"The destination needs {(long)windowWidth * windowHeight * channels} bytes, got {destination.Length}.", nameof(destination));
        }

        Run(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter, isa,
            destination, default, default, default);
    }

    /// <summary>
    /// The evaluation transform's pixel work in one go: resize as PIL does, keep the window (the centre crop), and
    /// write <c>((byte / 255f) - mean[c]) / std[c]</c> in float32 (torchvision's <c>ToTensor</c> then
    /// <c>Normalize</c>, the same floats) into <paramref name="destinationChw"/>, channel-major
    /// (<c>channels x windowHeight x windowWidth</c>). The last resampling pass writes the floats directly.
    /// </summary>
    public static void ResizeCropNormalize(ReadOnlySpan<byte> src, int width, int height, int channels, int outWidth,
        int outHeight, int left, int top, int windowWidth, int windowHeight, Filter filter, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> std, Span<float> destinationChw) =>
        ResizeCropNormalize(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight,
            filter, mean, std, destinationChw, BestIsa);

    internal static void ResizeCropNormalize(ReadOnlySpan<byte> src, int width, int height, int channels, int outWidth,
        int outHeight, int left, int top, int windowWidth, int windowHeight, Filter filter, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> std, Span<float> destinationChw, Isa isa)
    {
        Validate(src.Length, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter);
        CheckIsa(isa);
        if (mean.Length < channels || std.Length < channels)
        {
            throw new ArgumentException($"Mean and std need {channels} value(s) each.", nameof(mean));
        }

        if ((long)destinationChw.Length < (long)windowWidth * windowHeight * channels)
        {
            throw new ArgumentException($"The destination needs {(long)windowWidth * windowHeight * channels} floats, got {destinationChw.Length}.", nameof(destinationChw));
        }

        Run(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter, isa,
            default, destinationChw, mean, std);
    }

    private static void Validate(int srcLength, int width, int height, int channels, int outWidth, int outHeight,
        int left, int top, int windowWidth, int windowHeight, Filter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowHeight);
        if (left < 0 || top < 0 || (long)left + windowWidth > outWidth || (long)top + windowHeight > outHeight)
        {
            throw new ArgumentOutOfRangeException(nameof(left), $"The window {windowWidth}x{windowHeight} at ({left}, {top}) is not inside {outWidth}x{outHeight}.");
        }

        if ((long)srcLength < (long)width * height * channels)
        {
            throw new ArgumentException($"An image of {width}x{height}x{channels} needs {(long)width * height * channels} bytes, got {srcLength}.", "src");
        }
    }

    private static void CheckIsa(Isa isa)
    {
        if (!IsSupported(isa))
        {
            throw new PlatformNotSupportedException($"{isa} is not supported on this machine.");
        }
    }

    /// <summary>
    /// Both entry points: bytes out (interleaved, as PIL) when <paramref name="floats"/> is empty, else normalised
    /// floats out (planar). For floats the horizontal pass writes planar bytes so that the vertical pass, vectorised
    /// over x, lands on contiguous float rows of one channel and never needs a de-interleaving shuffle.
    /// </summary>
    private static unsafe void Run(ReadOnlySpan<byte> src, int width, int height, int channels, int outWidth,
        int outHeight, int left, int top, int windowWidth, int windowHeight, Filter filter, Isa isa, Span<byte> bytes,
        Span<float> floats, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        bool toFloats = !floats.IsEmpty;
        bool needH = outWidth != width, needV = outHeight != height;
        Coeffs? vertical = needV ? GetCoeffs(height, outHeight, top, windowHeight, filter) : null;
        HPlan? horizontal = needH ? GetHPlan(width, outWidth, left, windowWidth, filter, channels, isa) : null;

        // Only the source rows the vertical pass reads go through the horizontal pass, as in PIL. PIL skips a pass
        // whose size does not change; that pass would be the identity, so copying the window's columns is the same.
        int firstRow = needV ? vertical!.Bounds[0] : top;
        int rows = needV
            ? vertical!.Bounds[2 * windowHeight - 2] + vertical.Bounds[2 * windowHeight - 1] - firstRow
            : windowHeight;
        nint srcRow = (nint)width * channels;
        nint plane = (nint)rows * windowWidth; // one channel of the intermediate image, planar layout
        nint winRow = (nint)windowWidth * channels;

        fixed (byte* s = src)
        fixed (byte* b = bytes)
        fixed (float* f = floats)
        {
            if (!toFloats)
            {
                if (needH && needV)
                {
                    byte[] temp = ArrayPool<byte>.Shared.Rent(checked((int)(rows * winRow)));
                    try
                    {
                        fixed (byte* t = temp)
                        {
                            Horizontal(s, src.Length, width, channels, firstRow, rows, horizontal!, isa, t, winRow, 1, channels);
                            Vertical(t, winRow, (int)winRow, firstRow, vertical!, windowHeight, isa, b, winRow, null, 0, 0);
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(temp);
                    }
                }
                else if (needH)
                {
                    Horizontal(s, src.Length, width, channels, firstRow, rows, horizontal!, isa, b, winRow, 1, channels);
                }
                else if (needV)
                {
                    // The vertical pass reads the window's columns straight from the source rows.
                    Vertical(s + (nint)left * channels, srcRow, (int)winRow, 0, vertical!, windowHeight, isa, b, winRow, null, 0, 0);
                }
                else
                {
                    for (int y = 0; y < windowHeight; y++)
                    {
                        Buffer.MemoryCopy(s + (top + y) * srcRow + (nint)left * channels, b + y * winRow, winRow, winRow);
                    }
                }

                return;
            }

            // Floats: the intermediate bytes are planar, channels x rows x windowWidth.
            nint outPlane = (nint)windowWidth * windowHeight;
            if (!needH && !needV && channels == 3 && isa != Isa.Scalar)
            {
                // Nothing to resample: normalise straight from the source window.
                for (int y = 0; y < windowHeight; y++)
                {
                    NormalizeRgb(s + (nint)(top + y) * srcRow + (nint)left * 3, f + (nint)y * windowWidth, outPlane,
                        windowWidth, mean, std, isa);
                }

                return;
            }

            // One channel without a horizontal pass is planar already, so the source is read in place.
            bool inPlace = !needH && channels == 1;
            byte[]? rented = inPlace ? null : ArrayPool<byte>.Shared.Rent(checked((int)(plane * channels)));
            try
            {
                fixed (byte* r = rented)
                {
                    byte* t = inPlace ? s + (nint)firstRow * srcRow + left : r;
                    nint tRow = inPlace ? srcRow : windowWidth;
                    if (needH)
                    {
                        Horizontal(s, src.Length, width, channels, firstRow, rows, horizontal!, isa, t, windowWidth, plane, 1);
                    }
                    else if (!inPlace)
                    {
                        Deinterleave(s + (nint)firstRow * srcRow + (nint)left * channels, srcRow, channels, windowWidth, rows, t, plane);
                    }

                    for (int c = 0; c < channels; c++)
                    {
                        if (needV)
                        {
                            Vertical(t + c * plane, tRow, windowWidth, firstRow, vertical!, windowHeight, isa, null, 0,
                                f + c * outPlane, mean[c], std[c]);
                        }
                        else
                        {
                            for (int y = 0; y < windowHeight; y++)
                            {
                                Normalize(t + c * plane + y * tRow, f + c * outPlane + (nint)y * windowWidth, windowWidth, mean[c], std[c], isa);
                            }
                        }
                    }
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }
    }

    private static unsafe void Deinterleave(byte* src, nint srcStride, int channels, int width, int rows, byte* dst, nint plane)
    {
        for (int y = 0; y < rows; y++)
        {
            byte* row = src + y * srcStride;
            if (channels == 3 && Ssse3.IsSupported)
            {
                int x = 0;
                for (; x + 16 <= width; x += 16)
                {
                    SplitRgb(row + 3 * x, out var r, out var g, out var b);
                    r.Store(dst + (nint)y * width + x);
                    g.Store(dst + plane + (nint)y * width + x);
                    b.Store(dst + 2 * plane + (nint)y * width + x);
                }

                for (; x < width; x++)
                {
                    dst[(nint)y * width + x] = row[3 * x];
                    dst[plane + (nint)y * width + x] = row[3 * x + 1];
                    dst[2 * plane + (nint)y * width + x] = row[3 * x + 2];
                }

                continue;
            }

            for (int c = 0; c < channels; c++)
            {
                byte* o = dst + c * plane + (nint)y * width;
                for (int x = 0; x < width; x++)
                {
                    o[x] = row[(nint)x * channels + c];
                }
            }
        }
    }

    private const byte Z = 0x80; // vpshufb writes 0 for an index with the high bit set

    // For 16 interleaved RGB pixels in three 16-byte loads: where each load's bytes go in the R, G and B vectors.
    private static readonly Vector128<byte> RFromA = Vector128.Create((byte)0, 3, 6, 9, 12, 15, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z);
    private static readonly Vector128<byte> RFromB = Vector128.Create(Z, Z, Z, Z, Z, Z, 2, 5, 8, 11, 14, Z, Z, Z, Z, Z);
    private static readonly Vector128<byte> RFromC = Vector128.Create(Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 1, 4, 7, 10, 13);
    private static readonly Vector128<byte> GFromA = Vector128.Create((byte)1, 4, 7, 10, 13, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z);
    private static readonly Vector128<byte> GFromB = Vector128.Create(Z, Z, Z, Z, Z, 0, 3, 6, 9, 12, 15, Z, Z, Z, Z, Z);
    private static readonly Vector128<byte> GFromC = Vector128.Create(Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 2, 5, 8, 11, 14);
    private static readonly Vector128<byte> BFromA = Vector128.Create((byte)2, 5, 8, 11, 14, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z);
    private static readonly Vector128<byte> BFromB = Vector128.Create(Z, Z, Z, Z, Z, 1, 4, 7, 10, 13, Z, Z, Z, Z, Z, Z);
    private static readonly Vector128<byte> BFromC = Vector128.Create(Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 0, 3, 6, 9, 12, 15);

    /// <summary>Splits 16 interleaved RGB pixels (48 bytes) into their R, G and B bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void SplitRgb(byte* p, out Vector128<byte> r, out Vector128<byte> g, out Vector128<byte> b)
    {
        var a0 = Vector128.Load(p);
        var a1 = Vector128.Load(p + 16);
        var a2 = Vector128.Load(p + 32);
        r = Ssse3.Shuffle(a0, RFromA) | Ssse3.Shuffle(a1, RFromB) | Ssse3.Shuffle(a2, RFromC);
        g = Ssse3.Shuffle(a0, GFromA) | Ssse3.Shuffle(a1, GFromB) | Ssse3.Shuffle(a2, GFromC);
        b = Ssse3.Shuffle(a0, BFromA) | Ssse3.Shuffle(a1, BFromB) | Ssse3.Shuffle(a2, BFromC);
    }

    /// <summary>One interleaved RGB row to three normalised float rows <paramref name="plane"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void NormalizeRgb(byte* src, float* dst, nint plane, int width, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> std, Isa isa)
    {
        int x = 0;
        if (isa == Isa.Avx512)
        {
            var m0 = Vector512.Create(mean[0]);
            var m1 = Vector512.Create(mean[1]);
            var m2 = Vector512.Create(mean[2]);
            var d0 = Vector512.Create(std[0]);
            var d1 = Vector512.Create(std[1]);
            var d2 = Vector512.Create(std[2]);
            var k = Vector512.Create(255f);
            for (; x + 16 <= width; x += 16)
            {
                SplitRgb(src + 3 * x, out var r, out var g, out var b);
                ((Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(r)) / k - m0) / d0).Store(dst + x);
                ((Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(g)) / k - m1) / d1).Store(dst + plane + x);
                ((Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(b)) / k - m2) / d2).Store(dst + 2 * plane + x);
            }
        }
        else
        {
            var m0 = Vector256.Create(mean[0]);
            var m1 = Vector256.Create(mean[1]);
            var m2 = Vector256.Create(mean[2]);
            var d0 = Vector256.Create(std[0]);
            var d1 = Vector256.Create(std[1]);
            var d2 = Vector256.Create(std[2]);
            var k = Vector256.Create(255f);
            for (; x + 16 <= width; x += 16)
            {
                SplitRgb(src + 3 * x, out var r, out var g, out var b);
                ((Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(r)) / k - m0) / d0).Store(dst + x);
                ((Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(r, 8))) / k - m0) / d0).Store(dst + x + 8);
                ((Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(g)) / k - m1) / d1).Store(dst + plane + x);
                ((Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(g, 8))) / k - m1) / d1).Store(dst + plane + x + 8);
                ((Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(b)) / k - m2) / d2).Store(dst + 2 * plane + x);
                ((Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(b, 8))) / k - m2) / d2).Store(dst + 2 * plane + x + 8);
            }
        }

        for (; x < width; x++)
        {
            dst[x] = (src[3 * x] / 255f - mean[0]) / std[0];
            dst[plane + x] = (src[3 * x + 1] / 255f - mean[1]) / std[1];
            dst[2 * plane + x] = (src[3 * x + 2] / 255f - mean[2]) / std[2];
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Coefficients

    /// <summary>PIL's coefficients for outputs First .. First + Count - 1: per output its first input and tap count
    /// (<see cref="Bounds"/>), and <see cref="KernelSize"/> int32 weights in 22-bit fixed point.</summary>
    private sealed record Coeffs(int KernelSize, int[] Bounds, int[] Weights);

    /// <summary>
    /// The horizontal pass laid out for a vector path: every output gets the same number of taps,
    /// <see cref="Taps"/> (a multiple of the taps one vector holds), starting at <see cref="Starts"/>; taps that PIL
    /// does not have get weight 0, which adds exactly 0 to the int32 sum, so the result is unchanged. Each weight is
    /// repeated <see cref="Lanes"/> times, once per int32 lane it multiplies. <see cref="MaxRead"/> is how many bytes
    /// past a row's start the loads can touch, for rows at the end of the buffer.
    /// </summary>
    private sealed record HPlan(Coeffs Pil, int Taps, int Lanes, int[] Starts, int[] Weights, int MaxRead, bool Vector);

    private readonly record struct PlanKey(int InSize, int OutSize, int First, int Count, Filter Filter, int Layout);

    // Photo sizes repeat, so plans are cached; the cap keeps a stream of odd sizes from growing it without bound
    // (a plan for a 224-wide window is 2-30 KB).
    private static readonly ConcurrentDictionary<PlanKey, object> Plans = new();
    private const int MaxPlans = 256;

    private static T Remember<T>(PlanKey key, T plan) where T : class
    {
        if (Plans.Count >= MaxPlans)
        {
            Plans.Clear();
        }

        Plans.TryAdd(key, plan);
        return plan;
    }

    // No lambdas here: a capturing one would allocate on every call, cached or not.
    private static Coeffs GetCoeffs(int inSize, int outSize, int first, int count, Filter filter)
    {
        var key = new PlanKey(inSize, outSize, first, count, filter, 0);
        return Plans.TryGetValue(key, out var found)
            ? (Coeffs)found
            : Remember(key, Coefficients(inSize, outSize, first, count, filter));
    }

    private static HPlan GetHPlan(int inSize, int outSize, int first, int count, Filter filter, int channels, Isa isa)
    {
        // How many taps one vector op takes, and how many int32 lanes each weight fills (one per channel, 4 lanes a
        // pixel for RGB since a pixel is widened to a 128-bit block); 0 means scalar.
        (int taps, int lanes) = (isa, channels) switch
        {
            (Isa.Avx512, 3) => (4, 4),
            (Isa.Avx2, 3) => (2, 4),
            (Isa.Avx512 or Isa.Avx2, 1) => (4, 1),
            _ => (0, 0),
        };
        var key = new PlanKey(inSize, outSize, first, count, filter, 1 + taps * 8 + lanes); // Coeffs use 0
        if (Plans.TryGetValue(key, out var found))
        {
            return (HPlan)found;
        }

        var pil = GetCoeffs(inSize, outSize, first, count, filter);
        return Remember(key, taps == 0 ? new HPlan(pil, 0, 0, [], [], 0, false) : Layout(pil, inSize, channels, taps, lanes));
    }

    private static HPlan Layout(Coeffs pil, int inSize, int channels, int taps, int lanes)
    {
        int outputs = pil.Bounds.Length / 2, maxCount = 1;
        for (int i = 0; i < outputs; i++)
        {
            maxCount = Math.Max(maxCount, pil.Bounds[2 * i + 1]);
        }

        int k = (maxCount + taps - 1) / taps * taps;
        var starts = new int[outputs];
        var weights = new int[(long)outputs * k * lanes];
        int maxRead = 0;
        for (int i = 0; i < outputs; i++)
        {
            int min = pil.Bounds[2 * i], n = pil.Bounds[2 * i + 1];
            // Start early enough that all k taps stay inside the row where the row is wide enough; where it is not
            // (tiny images), the extra taps read bytes past the row with weight 0, from padding when at the end.
            int start = Math.Max(0, Math.Min(min, inSize - k));
            starts[i] = start;
            for (int j = 0; j < n; j++)
            {
                int w = pil.Weights[i * pil.KernelSize + j];
                weights.AsSpan((int)(((long)i * k + (min - start + j)) * lanes), lanes).Fill(w);
            }

            // Bytes touched past the row start by the widest load: RGB loads 16 bytes at each group of taps, one
            // channel loads 4 bytes per 4 taps.
            int read = channels == 3 ? (start + k - taps) * 3 + 16 : start + k;
            maxRead = Math.Max(maxRead, read);
        }

        return new HPlan(pil, k, lanes, starts, weights, maxRead, true);
    }

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

    // ---------------------------------------------------------------------------------------------------------------
    // Horizontal pass

    /// <summary>
    /// Resamples source rows firstRow .. firstRow + rows - 1 horizontally. Output row y, channel c, pixel i goes to
    /// <c>dst + y * dstRow + c * dstChannel + i * dstStep</c>: interleaved with (1, channels), planar with (plane, 1).
    /// </summary>
    private static unsafe void Horizontal(byte* src, int srcLength, int width, int channels, int firstRow, int rows,
        HPlan plan, Isa isa, byte* dst, nint dstRow, nint dstChannel, nint dstStep)
    {
        nint rowBytes = (nint)width * channels;
        int outputs = plan.Starts.Length == 0 ? plan.Pil.Bounds.Length / 2 : plan.Starts.Length;
        byte[]? padded = null;
        try
        {
            fixed (int* starts = plan.Starts)
            fixed (int* weights = plan.Weights)
            fixed (int* bounds = plan.Pil.Bounds)
            fixed (int* pilWeights = plan.Pil.Weights)
            {
                for (int y = 0; y < rows; y++)
                {
                    byte* row = src + (firstRow + y) * rowBytes;
                    byte* o = dst + y * dstRow;
                    if (!plan.Vector)
                    {
                        HorizontalScalar(row, channels, outputs, bounds, pilWeights, plan.Pil.KernelSize, o, dstChannel, dstStep);
                        continue;
                    }

                    // The loads of the last rows may run past the buffer: those rows go through a zero-padded
                    // copy (bytes past the row only ever meet weight 0).
                    bool nearEnd = (firstRow + y) * rowBytes + plan.MaxRead > srcLength;
                    if (nearEnd)
                    {
                        padded ??= ArrayPool<byte>.Shared.Rent(Math.Max(plan.MaxRead, (int)rowBytes));
                        padded.AsSpan().Clear();
                        new ReadOnlySpan<byte>(row, (int)rowBytes).CopyTo(padded);
                    }

                    fixed (byte* pad = padded)
                    {
                        byte* r = nearEnd ? pad : row;
                        if (channels == 3 && isa == Isa.Avx512)
                        {
                            HorizontalRgb512(r, outputs, starts, weights, plan.Taps, o, dstChannel, dstStep);
                        }
                        else if (channels == 3)
                        {
                            HorizontalRgb256(r, outputs, starts, weights, plan.Taps, o, dstChannel, dstStep);
                        }
                        else
                        {
                            HorizontalGray128(r, outputs, starts, weights, plan.Taps, o, isa == Isa.Avx512);
                        }
                    }
                }
            }
        }
        finally
        {
            if (padded is not null)
            {
                ArrayPool<byte>.Shared.Return(padded);
            }
        }
    }

    private static unsafe void HorizontalScalar(byte* row, int channels, int outputs, int* bounds, int* weights,
        int kernelSize, byte* dst, nint dstChannel, nint dstStep)
    {
        for (int i = 0; i < outputs; i++)
        {
            int min = bounds[2 * i], count = bounds[2 * i + 1];
            int* w = weights + (nint)i * kernelSize;
            for (int ch = 0; ch < channels; ch++)
            {
                int acc = Half;
                byte* p = row + (nint)min * channels + ch;
                for (int j = 0; j < count; j++, p += channels)
                {
                    acc += *p * w[j];
                }

                dst[ch * dstChannel + i * dstStep] = Clip(acc);
            }
        }
    }

    /// <summary>
    /// RGB with AVX-512: a 128-bit block per tap holds one pixel widened to int32 (R, G, B, 0), so one vpshufb of a
    /// broadcast 16-byte load spreads 4 taps over the 4 blocks, and vpmulld by the repeated weights plus vpaddd
    /// accumulates 4 taps x 3 channels at once. Four outputs are done together so that summing each output's 4
    /// blocks is a 4x4 block transpose-and-add (6 vshufi32x4, 3 vpaddd) and the shift, clip and narrowing are one
    /// vector op each for all four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HorizontalRgb512(byte* row, int outputs, int* starts, int* weights, int taps, byte* dst,
        nint dstChannel, nint dstStep)
    {
        var spread = Vector512.Create(
            0, Z, Z, Z, 1, Z, Z, Z, 2, Z, Z, Z, Z, Z, Z, Z,
            3, Z, Z, Z, 4, Z, Z, Z, 5, Z, Z, Z, Z, Z, Z, Z,
            6, Z, Z, Z, 7, Z, Z, Z, 8, Z, Z, Z, Z, Z, Z, Z,
            9, Z, Z, Z, 10, Z, Z, Z, 11, Z, Z, Z, Z, Z, Z, Z);
        var round = Vector512.Create(Half);
        nint stride = (nint)taps * 4; // ints of weights per output
        int i = 0;
        for (; i + 4 <= outputs; i += 4)
        {
            byte* p0 = row + (nint)starts[i] * 3, p1 = row + (nint)starts[i + 1] * 3;
            byte* p2 = row + (nint)starts[i + 2] * 3, p3 = row + (nint)starts[i + 3] * 3;
            int* w = weights + i * stride;
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nint g = 0; g < taps; g += 4)
            {
                a0 += Avx512BW.Shuffle(Avx512F.BroadcastVector128ToVector512((int*)(p0 + 3 * g)).AsByte(), spread).AsInt32() * Vector512.Load(w + 4 * g);
                a1 += Avx512BW.Shuffle(Avx512F.BroadcastVector128ToVector512((int*)(p1 + 3 * g)).AsByte(), spread).AsInt32() * Vector512.Load(w + stride + 4 * g);
                a2 += Avx512BW.Shuffle(Avx512F.BroadcastVector128ToVector512((int*)(p2 + 3 * g)).AsByte(), spread).AsInt32() * Vector512.Load(w + 2 * stride + 4 * g);
                a3 += Avx512BW.Shuffle(Avx512F.BroadcastVector128ToVector512((int*)(p3 + 3 * g)).AsByte(), spread).AsInt32() * Vector512.Load(w + 3 * stride + 4 * g);
            }

            var s01 = Avx512F.Shuffle4x128(a0, a1, 0b10_00_10_00) + Avx512F.Shuffle4x128(a0, a1, 0b11_01_11_01);
            var s23 = Avx512F.Shuffle4x128(a2, a3, 0b10_00_10_00) + Avx512F.Shuffle4x128(a2, a3, 0b11_01_11_01);
            var sums = Avx512F.Shuffle4x128(s01, s23, 0b10_00_10_00) + Avx512F.Shuffle4x128(s01, s23, 0b11_01_11_01);
            // Block k is output i + k. vpmovusdb saturates at 255 once negatives are 0: PIL's clip.
            var v = Vector512.Max((sums + round) >> PrecisionBits, Vector512<int>.Zero);
            Store4(Avx512F.ConvertToVector128ByteWithSaturation(v.AsUInt32()), dst + i * dstStep, dstChannel);
        }

        for (; i < outputs; i++)
        {
            byte* p = row + (nint)starts[i] * 3;
            int* w = weights + i * stride;
            var acc = Vector512<int>.Zero;
            for (nint g = 0; g < taps; g += 4)
            {
                acc += Avx512BW.Shuffle(Avx512F.BroadcastVector128ToVector512((int*)(p + 3 * g)).AsByte(), spread).AsInt32() * Vector512.Load(w + 4 * g);
            }

            var half = acc.GetLower() + acc.GetUpper();
            Store1(half.GetLower() + half.GetUpper(), dst + i * dstStep, dstChannel);
        }
    }

    /// <summary>RGB with AVX2: as <see cref="HorizontalRgb512"/> with two taps per vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HorizontalRgb256(byte* row, int outputs, int* starts, int* weights, int taps, byte* dst,
        nint dstChannel, nint dstStep)
    {
        var spread = Vector256.Create(
            0, Z, Z, Z, 1, Z, Z, Z, 2, Z, Z, Z, Z, Z, Z, Z,
            3, Z, Z, Z, 4, Z, Z, Z, 5, Z, Z, Z, Z, Z, Z, Z);
        var round = Vector256.Create(Half);
        nint stride = (nint)taps * 4;
        int i = 0;
        for (; i + 4 <= outputs; i += 4)
        {
            byte* p0 = row + (nint)starts[i] * 3, p1 = row + (nint)starts[i + 1] * 3;
            byte* p2 = row + (nint)starts[i + 2] * 3, p3 = row + (nint)starts[i + 3] * 3;
            int* w = weights + i * stride;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nint g = 0; g < taps; g += 2)
            {
                a0 += Avx2.Shuffle(Avx2.BroadcastVector128ToVector256(p0 + 3 * g), spread).AsInt32() * Vector256.Load(w + 4 * g);
                a1 += Avx2.Shuffle(Avx2.BroadcastVector128ToVector256(p1 + 3 * g), spread).AsInt32() * Vector256.Load(w + stride + 4 * g);
                a2 += Avx2.Shuffle(Avx2.BroadcastVector128ToVector256(p2 + 3 * g), spread).AsInt32() * Vector256.Load(w + 2 * stride + 4 * g);
                a3 += Avx2.Shuffle(Avx2.BroadcastVector128ToVector256(p3 + 3 * g), spread).AsInt32() * Vector256.Load(w + 3 * stride + 4 * g);
            }

            // [a0 | a1] and [a2 | a3], each 128-bit half one output's sums.
            var s01 = (Avx2.Permute2x128(a0, a1, 0x20) + Avx2.Permute2x128(a0, a1, 0x31) + round) >> PrecisionBits;
            var s23 = (Avx2.Permute2x128(a2, a3, 0x20) + Avx2.Permute2x128(a2, a3, 0x31) + round) >> PrecisionBits;
            // Packs work within 128-bit halves: bytes come out as [o0 o2 o0 o2 | o1 o3 o1 o3], 4 bytes each.
            var s16 = Avx2.PackSignedSaturate(s01, s23);
            var b = Avx2.PackUnsignedSaturate(s16, s16);
            Store4(Sse2.UnpackLow(b.GetLower().AsInt32(), b.GetUpper().AsInt32()).AsByte(), dst + i * dstStep, dstChannel);
        }

        for (; i < outputs; i++)
        {
            byte* p = row + (nint)starts[i] * 3;
            int* w = weights + i * stride;
            var acc = Vector256<int>.Zero;
            for (nint g = 0; g < taps; g += 2)
            {
                acc += Avx2.Shuffle(Avx2.BroadcastVector128ToVector256(p + 3 * g), spread).AsInt32() * Vector256.Load(w + 4 * g);
            }

            Store1(acc.GetLower() + acc.GetUpper(), dst + i * dstStep, dstChannel);
        }
    }

    /// <summary>
    /// Writes 4 clipped RGB(X) pixels: to 3 planes (4 bytes each) when <paramref name="dstChannel"/> is not 1, else
    /// interleaved (12 bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store4(Vector128<byte> rgbx, byte* dst, nint dstChannel)
    {
        if (dstChannel != 1)
        {
            var planes = Ssse3.Shuffle(rgbx, Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, Z, Z, Z, Z)).AsUInt32();
            *(uint*)dst = planes.ToScalar();
            *(uint*)(dst + dstChannel) = planes.GetElement(1);
            *(uint*)(dst + 2 * dstChannel) = planes.GetElement(2);
        }
        else
        {
            var rgb = Ssse3.Shuffle(rgbx, Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, Z, Z, Z, Z));
            *(ulong*)dst = rgb.AsUInt64().ToScalar();
            *(uint*)(dst + 8) = rgb.AsUInt32().GetElement(2);
        }
    }

    /// <summary>Rounds, shifts, clips and writes one pixel's R, G, B int32 sums (lanes 0-2); saturating packs clip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store1(Vector128<int> sums, byte* dst, nint dstChannel)
    {
        var v = Sse2.ShiftRightArithmetic(sums + Vector128.Create(Half), PrecisionBits);
        var s16 = Sse2.PackSignedSaturate(v, v);
        uint rgb = Sse2.PackUnsignedSaturate(s16, s16).AsUInt32().ToScalar();
        dst[0] = (byte)rgb;
        dst[dstChannel] = (byte)(rgb >> 8);
        dst[2 * dstChannel] = (byte)(rgb >> 16);
    }

    /// <summary>
    /// One channel: 4 taps per 128-bit vector (vpmovzxbd, vpmulld); four outputs at a time, summed across lanes
    /// with three phaddd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HorizontalGray128(byte* row, int outputs, int* starts, int* weights, int taps, byte* dst, bool avx512)
    {
        var round = Vector128.Create(Half);
        int i = 0;
        if (avx512 && taps == 4)
        {
            // The common case (up to 4 taps: bilinear down to 1.5x, bicubic upscaling) with one 128-bit block per
            // output: four outputs' 4 source bytes each, widened to int32 in one vpmovzxbd, multiplied, summed
            // within each block, clipped and narrowed together.
            var round512 = Vector512.Create(Half);
            var firstOfBlock = Vector128.Create((byte)0, 4, 8, 12, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z);
            for (; i + 4 <= outputs; i += 4)
            {
                var px = Vector128.Create(*(int*)(row + starts[i]), *(int*)(row + starts[i + 1]),
                    *(int*)(row + starts[i + 2]), *(int*)(row + starts[i + 3])).AsByte();
                var prod = Avx512F.ConvertToVector512Int32(px) * Vector512.Load(weights + (nint)i * 4);
                prod += Avx512F.Shuffle(prod, 0b01_00_11_10);
                prod += Avx512F.Shuffle(prod, 0b10_11_00_01);
                var v = Vector512.Max((prod + round512) >> PrecisionBits, Vector512<int>.Zero);
                var bytes = Avx512F.ConvertToVector128ByteWithSaturation(v.AsUInt32());
                *(uint*)(dst + i) = Ssse3.Shuffle(bytes, firstOfBlock).AsUInt32().ToScalar();
            }
        }

        for (; i + 4 <= outputs; i += 4)
        {
            byte* p0 = row + starts[i], p1 = row + starts[i + 1], p2 = row + starts[i + 2], p3 = row + starts[i + 3];
            int* w = weights + (nint)i * taps;
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nint g = 0; g < taps; g += 4)
            {
                a0 += Sse41.ConvertToVector128Int32(p0 + g) * Vector128.Load(w + g);
                a1 += Sse41.ConvertToVector128Int32(p1 + g) * Vector128.Load(w + taps + g);
                a2 += Sse41.ConvertToVector128Int32(p2 + g) * Vector128.Load(w + 2 * taps + g);
                a3 += Sse41.ConvertToVector128Int32(p3 + g) * Vector128.Load(w + 3 * taps + g);
            }

            var v = (Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(a0, a1), Ssse3.HorizontalAdd(a2, a3)) + round) >> PrecisionBits;
            var s16 = Sse2.PackSignedSaturate(v, v);
            *(uint*)(dst + i) = Sse2.PackUnsignedSaturate(s16, s16).AsUInt32().ToScalar();
        }

        for (; i < outputs; i++)
        {
            byte* p = row + starts[i];
            int* w = weights + (nint)i * taps;
            var acc = Vector128<int>.Zero;
            for (int g = 0; g < taps; g += 4)
            {
                acc += Sse41.ConvertToVector128Int32(p + g) * Vector128.Load(w + g);
            }

            acc += Sse2.Shuffle(acc, 0b01_00_11_10);
            acc += Sse2.Shuffle(acc, 0b10_11_00_01);
            dst[i] = Clip(acc.ToScalar() + Half);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Vertical pass

    /// <summary>
    /// Output rows 0 .. windowHeight - 1 of the vertical pass over rows of <paramref name="length"/> bytes, where
    /// input row 0 (at <paramref name="input"/>, rows <paramref name="stride"/> apart) is source row
    /// <paramref name="rowBase"/>. Writes clipped bytes to <paramref name="bytes"/>, or when that is null,
    /// normalised floats to <paramref name="floats"/> (rows <paramref name="length"/> floats apart).
    /// </summary>
    private static unsafe void Vertical(byte* input, nint stride, int length, int rowBase, Coeffs c, int windowHeight,
        Isa isa, byte* bytes, nint bytesRow, float* floats, float mean, float std)
    {
        fixed (int* bounds = c.Bounds)
        fixed (int* weights = c.Weights)
        {
            float* lut = stackalloc float[256];
            if (floats is not null && isa == Isa.Scalar)
            {
                for (int v = 0; v < 256; v++)
                {
                    lut[v] = (v / 255f - mean) / std;
                }
            }

            for (int y = 0; y < windowHeight; y++)
            {
                byte* first = input + (bounds[2 * y] - rowBase) * stride;
                int count = bounds[2 * y + 1];
                int* w = weights + (nint)y * c.KernelSize;
                byte* ob = bytes is null ? null : bytes + y * bytesRow;
                float* of = floats is null ? null : floats + (nint)y * length;
                int done = 0;
                if (isa == Isa.Avx512 && length >= 16)
                {
                    done = Vertical512(first, stride, length, w, count, ob, of, mean, std);
                }
                else if (isa == Isa.Avx2 && length >= 8)
                {
                    done = Vertical256(first, stride, length, w, count, ob, of, mean, std);
                }

                for (int x = done; x < length; x++)
                {
                    int acc = Half;
                    byte* p = first + x;
                    for (int j = 0; j < count; j++, p += stride)
                    {
                        acc += *p * w[j];
                    }

                    byte v = Clip(acc);
                    if (ob is not null)
                    {
                        ob[x] = v;
                    }
                    else if (isa == Isa.Scalar)
                    {
                        of[x] = lut[v];
                    }
                    else
                    {
                        of[x] = (v / 255f - mean) / std;
                    }
                }
            }
        }
    }

    /// <summary>
    /// AVX-512 vertical row: 16 columns per vector (vpmovzxbd, vpmulld by the broadcast weight, vpaddd), two vectors
    /// per pass over the taps. The last partial block is redone overlapping the previous one (same values). Returns
    /// the columns done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int Vertical512(byte* first, nint stride, int length, int* w, int count, byte* ob, float* of,
        float mean, float std)
    {
        var round = Vector512.Create(Half);
        int x = 0;
        for (; x + 32 <= length; x += 32)
        {
            var a0 = round;
            var a1 = round;
            byte* p = first + x;
            for (int j = 0; j < count; j++, p += stride)
            {
                var wj = Vector512.Create(w[j]);
                a0 += Avx512F.ConvertToVector512Int32(Vector128.Load(p)) * wj;
                a1 += Avx512F.ConvertToVector512Int32(Vector128.Load(p + 16)) * wj;
            }

            Finish512(a0, ob, of, x, mean, std);
            Finish512(a1, ob, of, x + 16, mean, std);
        }

        for (; x < length; x += 16)
        {
            if (x + 16 > length)
            {
                x = length - 16;
            }

            var a = round;
            byte* p = first + x;
            for (int j = 0; j < count; j++, p += stride)
            {
                a += Avx512F.ConvertToVector512Int32(Vector128.Load(p)) * Vector512.Create(w[j]);
            }

            Finish512(a, ob, of, x, mean, std);
        }

        return length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Finish512(Vector512<int> acc, byte* ob, float* of, int x, float mean, float std)
    {
        var v = Vector512.Max(acc >> PrecisionBits, Vector512<int>.Zero);
        if (ob is not null)
        {
            // vpmovusdb saturates at 255, which is the upper clip.
            Avx512F.ConvertToVector128ByteWithSaturation(v.AsUInt32()).Store(ob + x);
        }
        else
        {
            // The same IEEE float32 operations, in the same order, as (byte / 255f - mean) / std.
            var f = Vector512.ConvertToSingle(Vector512.Min(v, Vector512.Create(255)));
            ((f / Vector512.Create(255f) - Vector512.Create(mean)) / Vector512.Create(std)).Store(of + x);
        }
    }

    /// <summary>AVX2 vertical row: as <see cref="Vertical512"/> with 8 columns per vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int Vertical256(byte* first, nint stride, int length, int* w, int count, byte* ob, float* of,
        float mean, float std)
    {
        var round = Vector256.Create(Half);
        int x = 0;
        for (; x + 16 <= length; x += 16)
        {
            var a0 = round;
            var a1 = round;
            byte* p = first + x;
            for (int j = 0; j < count; j++, p += stride)
            {
                var wj = Vector256.Create(w[j]);
                a0 += Avx2.ConvertToVector256Int32(p) * wj;
                a1 += Avx2.ConvertToVector256Int32(p + 8) * wj;
            }

            Finish256(a0, ob, of, x, mean, std);
            Finish256(a1, ob, of, x + 8, mean, std);
        }

        for (; x < length; x += 8)
        {
            if (x + 8 > length)
            {
                x = length - 8;
            }

            var a = round;
            byte* p = first + x;
            for (int j = 0; j < count; j++, p += stride)
            {
                a += Avx2.ConvertToVector256Int32(p) * Vector256.Create(w[j]);
            }

            Finish256(a, ob, of, x, mean, std);
        }

        return length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Finish256(Vector256<int> acc, byte* ob, float* of, int x, float mean, float std)
    {
        var v = Vector256.Min(Vector256.Max(acc >> PrecisionBits, Vector256<int>.Zero), Vector256.Create(255));
        if (ob is not null)
        {
            var s16 = Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());
            Sse2.StoreScalar((long*)(ob + x), Sse2.PackUnsignedSaturate(s16, s16).AsInt64());
        }
        else
        {
            var f = Vector256.ConvertToSingle(v);
            ((f / Vector256.Create(255f) - Vector256.Create(mean)) / Vector256.Create(std)).Store(of + x);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Normalisation without a vertical pass

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Normalize(byte* src, float* dst, int length, float mean, float std, Isa isa)
    {
        int x = 0;
        if (isa == Isa.Avx512)
        {
            for (; x + 16 <= length; x += 16)
            {
                var f = Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(src + x)));
                ((f / Vector512.Create(255f) - Vector512.Create(mean)) / Vector512.Create(std)).Store(dst + x);
            }
        }
        else if (isa == Isa.Avx2)
        {
            for (; x + 8 <= length; x += 8)
            {
                var f = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(src + x));
                ((f / Vector256.Create(255f) - Vector256.Create(mean)) / Vector256.Create(std)).Store(dst + x);
            }
        }

        for (; x < length; x++)
        {
            dst[x] = (src[x] / 255f - mean) / std;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip(int acc)
    {
        acc >>= PrecisionBits;
        return (byte)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
    }
}
