using SkiaSharp;

namespace Res2Net.Imaging;

/// <summary>
/// An image decoded to 8-bit RGB at its original size, as PIL's <c>Image.convert('RGB')</c> gives it: alpha dropped
/// (not blended), palettes expanded, grey replicated, no colour management and no EXIF rotation.
/// </summary>
public sealed class DecodedImage
{
    private readonly byte[] rgb;

    /// <summary>Wraps interleaved RGB pixels, row by row from the top (<c>width * height * 3</c> bytes, not copied).</summary>
    public DecodedImage(int width, int height, byte[] rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgb.LongLength != (long)width * height * 3)
        {
            throw new ArgumentException($"An RGB image of {width}x{height} needs {(long)width * height * 3} bytes, got {rgb.LongLength}.", nameof(rgb));
        }

        Width = width;
        Height = height;
        this.rgb = rgb;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Interleaved RGB bytes, row by row from the top.</summary>
    public ReadOnlyMemory<byte> Rgb => rgb;

    /// <summary>The same bytes without a copy, for code in this library that does not change them.</summary>
    internal byte[] RgbArray => rgb;

    /// <summary>
    /// The luminance image PIL's <c>convert('L')</c> makes (ITU-R 601-2, L = R*299/1000 + G*587/1000 + B*114/1000,
    /// in PIL's 16-bit fixed point so that the bytes agree exactly).
    /// </summary>
    public byte[] ToLuminance()
    {
        var l = new byte[Width * Height];
        for (int i = 0, j = 0; i < l.Length; i++, j += 3)
        {
            l[i] = (byte)((rgb[j] * 19595 + rgb[j + 1] * 38470 + rgb[j + 2] * 7471 + 0x8000) >> 16);
        }

        return l;
    }

    /// <summary>An opaque RGBA bitmap of the image (e.g. to draw a heatmap over); the caller disposes it.</summary>
    public SKBitmap ToBitmap()
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        try
        {
            Span<byte> dst;
            unsafe
            {
                dst = new Span<byte>((void*)bitmap.GetPixels(), bitmap.RowBytes * Height);
            }

            for (int y = 0; y < Height; y++)
            {
                var src = rgb.AsSpan(y * Width * 3, Width * 3);
                var row = dst.Slice(y * bitmap.RowBytes, Width * 4);
                for (int x = 0; x < Width; x++)
                {
                    row[4 * x] = src[3 * x];
                    row[4 * x + 1] = src[3 * x + 1];
                    row[4 * x + 2] = src[3 * x + 2];
                    row[4 * x + 3] = 255;
                }
            }

            bitmap.NotifyPixelsChanged();
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }
}
