using Res2Net.Imaging;
using Res2Net.IO;
using SkiaSharp;

namespace Res2Net.Explain;

/// <summary>Draws a class activation map as a colour heatmap over the original photo, with the class and probability.</summary>
public static class CamRenderer
{
    /// <summary>Renders the overlay at the photo's own size and writes it as PNG (see the library's atomic writes).</summary>
    public static void WritePng(DecodedImage photo, CamResult cam, string path, float opacity = 0.5f)
    {
        var png = EncodePng(photo, cam, opacity);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>The overlay at the photo's own size, encoded as PNG.</summary>
    public static byte[] EncodePng(DecodedImage photo, CamResult cam, float opacity = 0.5f)
    {
        using var bitmap = Render(photo, cam, opacity);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new Res2NetException("SkiaSharp could not encode the heatmap as PNG.");
        return data.ToArray();
    }

    /// <summary>The overlay as a bitmap the caller disposes: the photo, the map upsampled bilinearly over it, the caption.</summary>
    public static SKBitmap Render(DecodedImage photo, CamResult cam, float opacity = 0.5f)
    {
        var result = photo.ToBitmap();
        using var heat = Heatmap(cam);
        using var canvas = new SKCanvas(result);
        using (var paint = new SKPaint { Color = SKColors.White.WithAlpha((byte)(255 * opacity)) })
        {
            // Bilinear upsampling of the coarse map to the photo, as Grad-CAM implementations do.
            using var image = SKImage.FromBitmap(heat);
            canvas.DrawImage(image, new SKRect(0, 0, photo.Width, photo.Height), new SKSamplingOptions(SKFilterMode.Linear), paint);
        }

        DrawCaption(canvas, $"{cam.Label}  {cam.Prob:P1}", photo.Width);
        return result;
    }

    private static SKBitmap Heatmap(CamResult cam)
    {
        var bitmap = new SKBitmap(new SKImageInfo(cam.MapWidth, cam.MapHeight, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < cam.MapHeight; y++)
        {
            for (var x = 0; x < cam.MapWidth; x++)
            {
                bitmap.SetPixel(x, y, Jet(cam.Map[(y * cam.MapWidth) + x]));
            }
        }

        return bitmap;
    }

    /// <summary>The "jet" colour map (blue, cyan, yellow, red) that Grad-CAM figures use.</summary>
    private static SKColor Jet(float v)
    {
        static byte Channel(float x) => (byte)(255 * Math.Clamp(1.5f - Math.Abs(x), 0f, 1f));
        v = Math.Clamp(v, 0f, 1f) * 4f;
        return new SKColor(Channel(v - 3f), Channel(v - 2f), Channel(v - 1f));
    }

    private static void DrawCaption(SKCanvas canvas, string text, int width)
    {
        using var typeface = CaptionTypeface();
        using var font = new SKFont(typeface, Math.Max(12f, width / 28f));
        using var fill = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var box = new SKPaint { Color = SKColors.Black.WithAlpha(170) };
        var textWidth = font.MeasureText(text);
        var pad = font.Size * 0.4f;
        canvas.DrawRect(new SKRect(0, 0, textWidth + (2 * pad), font.Size + (2 * pad)), box);
        canvas.DrawText(text, pad, pad + (font.Size * 0.85f), SKTextAlign.Left, font, fill);
    }

    // SkiaSharp's self-contained Linux build does not search the system fonts; DejaVu Sans ships with Debian and Ubuntu.
    private static SKTypeface CaptionTypeface()
    {
        foreach (var candidate in new[]
        {
            "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
        })
        {
            if (File.Exists(candidate) && SKTypeface.FromFile(candidate) is { } face)
            {
                return face;
            }
        }

        return SKTypeface.Default;
    }
}
