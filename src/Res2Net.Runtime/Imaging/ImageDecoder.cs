using System.Runtime.InteropServices;
using Res2Net.IO;
using SkiaSharp;

namespace Res2Net.Imaging;

/// <summary>
/// Decodes JPEG, PNG, BMP, GIF (first frame) and WebP files with SkiaSharp into <see cref="DecodedImage"/>s that
/// agree with PIL's <c>Image.open(path).convert('RGB')</c>.
/// </summary>
public static class ImageDecoder
{
    private const string Formats = "JPEG, PNG, BMP, GIF, WebP";

    /// <summary>Reads and decodes an image file (a regular file only; the path names it in error messages).</summary>
    /// <exception cref="ImageDecodeException">The file is not an image this library reads, or is damaged.</exception>
    /// <exception cref="Res2NetException">The file is missing, is not a regular file, or cannot be read.</exception>
    public static DecodedImage Decode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Decode(InputFiles.ReadAllBytes(path, Limits.MaxImageFileBytes, "image"), path);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> names it in error messages.</summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> encoded, string name = "image") => Decode(encoded, name, Limits.MaxImagePixels);

    /// <summary>
    /// Decodes an encoded image held in memory, refusing one of more than <paramref name="maxPixels"/> pixels before
    /// anything is allocated for it (a service bounds what one request may cost this way).
    /// </summary>
    /// <exception cref="ImageDecodeException">The data is not an image this library reads, is damaged, or is too large.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> encoded, string name, long maxPixels)
    {
        maxPixels = Math.Min(maxPixels, Limits.MaxImagePixels);
        if (encoded.IsEmpty)
        {
            throw ImageDecodeException.For(name, "the file is empty");
        }

        // Skia reads the caller's bytes where they are (pinned for the call), not a copy: a large file is held once.
        unsafe
        {
            fixed (byte* bytes = encoded)
            {
                using var data = SKData.Create((IntPtr)bytes, encoded.Length, (_, _) => { });
                return Decode(data, encoded, name, maxPixels);
            }
        }
    }

    private static DecodedImage Decode(SKData data, ReadOnlySpan<byte> encoded, string name, long maxPixels)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var created);
        if (codec is null)
        {
            throw Failure(name, created, Sniff(encoded));
        }

        var format = codec.EncodedFormat;
        if (format is not (SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Png or SKEncodedImageFormat.Bmp
            or SKEncodedImageFormat.Gif or SKEncodedImageFormat.Webp))
        {
            throw ImageDecodeException.For(name, $"{format} images are not supported (only {Formats} are)");
        }

        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0)
        {
            throw ImageDecodeException.For(name, $"the image is damaged or truncated (it declares a size of {width}x{height})");
        }

        if ((long)width * height > maxPixels)
        {
            throw ImageDecodeException.For(name, $"the image is too large to decode safely ({width}x{height} pixels, more than {maxPixels:N0})");
        }

        // Unpremultiplied so that alpha can be dropped as PIL drops it; no colour space so that embedded ICC profiles
        // are ignored, as PIL ignores them.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize64];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            // Only the first frame of an animated GIF or WebP, as PIL opens it.
            result = codec.GetPixels(info, handle.AddrOfPinnedObject(), new SKCodecOptions(0));
        }
        finally
        {
            handle.Free();
        }

        // Skia fills what a truncated file lacks and reports IncompleteInput; PIL refuses such a file, and so do we.
        if (result != SKCodecResult.Success)
        {
            throw Failure(name, result, Name(format));
        }

        if (format == SKEncodedImageFormat.Gif && GifFirstFrame.TransparentFill(encoded) is var (r, g, b))
        {
            for (long j = 0; j < rgba.LongLength; j += 4)
            {
                if (rgba[j + 3] == 0)
                {
                    rgba[j] = r;
                    rgba[j + 1] = g;
                    rgba[j + 2] = b;
                }
            }
        }

        return new DecodedImage(width, height, DropAlpha(rgba, (long)width * height));
    }

    /// <summary>
    /// Converts a bitmap to RGB. Its colour type is converted by Skia first; unpremultiplied alpha is then dropped, as
    /// PIL's <c>convert('RGB')</c> does (premultiplied pixels keep the colour they show over black).
    /// </summary>
    public static DecodedImage FromBitmap(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var info = new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888,
            bitmap.AlphaType == SKAlphaType.Premul ? SKAlphaType.Premul : SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize64];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using var pixmap = bitmap.PeekPixels();
            if (pixmap is null || !pixmap.ReadPixels(info, handle.AddrOfPinnedObject(), info.RowBytes))
            {
                throw new ArgumentException($"The bitmap ({bitmap.ColorType}, {bitmap.Width}x{bitmap.Height}) cannot be read as RGBA.", nameof(bitmap));
            }
        }
        finally
        {
            handle.Free();
        }

        return new DecodedImage(bitmap.Width, bitmap.Height, DropAlpha(rgba, (long)bitmap.Width * bitmap.Height));
    }

    private static byte[] DropAlpha(byte[] rgba, long pixels)
    {
        var rgb = new byte[pixels * 3];
        for (long i = 0, j = 0; i < rgb.LongLength; i += 3, j += 4)
        {
            rgb[i] = rgba[j];
            rgb[i + 1] = rgba[j + 1];
            rgb[i + 2] = rgba[j + 2];
        }

        return rgb;
    }

    private static ImageDecodeException Failure(string name, SKCodecResult result, string? format)
    {
        if (format is null)
        {
            return ImageDecodeException.For(name, $"not an image SkiaSharp can decode ({Formats})");
        }

        string what = result switch
        {
            SKCodecResult.IncompleteInput => "the data ends early",
            SKCodecResult.ErrorInInput => "the data is corrupt",
            SKCodecResult.InvalidInput => "the header is invalid",
            _ => $"SkiaSharp reports {result}",
        };
        return ImageDecodeException.For(name, $"the image is damaged or truncated ({format}: {what})");
    }

    private static string Name(SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Jpeg => "JPEG",
        SKEncodedImageFormat.Png => "PNG",
        SKEncodedImageFormat.Bmp => "BMP",
        SKEncodedImageFormat.Gif => "GIF",
        SKEncodedImageFormat.Webp => "WebP",
        _ => format.ToString(),
    };

    /// <summary>Names the format a file's first bytes claim, to tell a damaged image from a file that is no image.</summary>
    private static string? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "JPEG";
        }

        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
        {
            return "PNG";
        }

        if (b.StartsWith("GIF8"u8))
        {
            return "GIF";
        }
        // "BM" alone is too common a start for text; a BMP's info header has one of a few known sizes.
        if (b.Length >= 18 && b.StartsWith("BM"u8) && BitConverter.ToInt32(b[14..18]) is 12 or 16 or 40 or 52 or 56 or 64 or 108 or 124)
        {
            return "BMP";
        }

        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8))
        {
            return "WebP";
        }

        return null;
    }
}
