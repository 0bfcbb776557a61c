using Res2Net.Imaging;
using Res2Net.Weights;
using SkiaSharp;
using Xunit;

namespace Res2Net.Tests.Imaging;

public class DecodingTests
{
    [Fact]
    public void Skia_native_library_loads()
    {
        // Fails with DllNotFoundException when libSkiaSharp.so or one of its dependencies is missing.
        using var bitmap = new SKBitmap(2, 2);
        Assert.False(string.IsNullOrEmpty(SkiaSharpVersion.Native.ToString()));
    }

    /// <summary>Lossless files must give PIL's <c>convert('RGB')</c> bytes exactly.</summary>
    [Theory]
    [InlineData("rgb.bmp")]
    [InlineData("palette.bmp")]
    [InlineData("gray.png")]
    [InlineData("gray_alpha.png")]
    [InlineData("rgba.png")]
    [InlineData("palette.png")]
    [InlineData("palette.gif")]
    [InlineData("animated.gif")]
    [InlineData("lossless.webp")]
    [InlineData("rgba_lossless.webp")]
    [InlineData("photo.jpg")]
    [InlineData("gray.jpg")]
    [InlineData("exif_rotated.jpg")]
    [InlineData("lossy.webp")]
    [InlineData("palette_trns.png")]
    [InlineData("transparent.gif")]
    [InlineData("small_frame.gif")]
    [InlineData("cmyk.jpg")]
    public void Formats_decode_as_PIL_converts_to_RGB(string name)
    {
        var image = ImageDecoder.Decode(ImagingPaths.Data(name));
        var expected = Npy.Read(ImagingPaths.Data(name + ".npy"));
        Assert.Equal(DType.UInt8, expected.DType);
        Assert.Equal([(long)image.Height, image.Width, 3], expected.Shape);
        Assert.Equal(expected.Data, image.Rgb.ToArray());
    }

    [Fact]
    public void Alpha_is_dropped_not_blended()
    {
        // Row 0 of rgba.png is fully transparent over coloured pixels; PIL keeps the colour.
        var image = ImageDecoder.Decode(ImagingPaths.Data("rgba.png"));
        var row0 = image.Rgb.Span[..(image.Width * 3)].ToArray();
        Assert.Contains(row0, b => b != 0);
        Assert.Equal(Npy.Read(ImagingPaths.Data("rgba.png.npy")).Data[..(image.Width * 3)], row0);
    }

    [Fact]
    public void Exif_orientation_is_not_applied()
    {
        var image = ImageDecoder.Decode(ImagingPaths.Data("exif_rotated.jpg"));
        Assert.Equal((7, 5), (image.Width, image.Height));
    }

    [Fact]
    public void Images_made_by_skia_decode_to_their_pixels()
    {
        // A PNG written by Skia's own encoder, with alpha 0 over colour: decoding keeps the colour.
        using var bitmap = new SKBitmap(new SKImageInfo(3, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        pixels.Clear();
        new byte[] { 10, 20, 30, 0 }.CopyTo(pixels);
        new byte[] { 200, 100, 50, 128 }.CopyTo(pixels[(bitmap.RowBytes + 8)..]);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var image = ImageDecoder.Decode(png.AsSpan(), "skia.png");
        Assert.Equal((3, 2), (image.Width, image.Height));
        Assert.Equal(new byte[] { 10, 20, 30 }, image.Rgb.Span[..3].ToArray());
        Assert.Equal(new byte[] { 200, 100, 50 }, image.Rgb.Span[15..].ToArray());
    }

    [Fact]
    public void Luminance_follows_PIL()
    {
        var image = new DecodedImage(3, 1, [255, 0, 0, 0, 255, 0, 10, 20, 30]);
        // PIL: Image.new('RGB', ...).convert('L') gives 76, 150, 18 for these.
        Assert.Equal(new byte[] { 76, 150, 18 }, image.ToLuminance());
    }

    [Fact]
    public void Bitmap_round_trip_keeps_the_pixels()
    {
        var image = ImageDecoder.Decode(ImagingPaths.Data("rgb.bmp"));
        using var bitmap = image.ToBitmap();
        Assert.Equal(image.Rgb.ToArray(), ImageDecoder.FromBitmap(bitmap).Rgb.ToArray());
    }

    [Fact]
    public void Truncated_jpeg_is_refused()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(ImagingPaths.Photo("truncated.jpg")));
        Assert.StartsWith(ImagingPaths.Photo("truncated.jpg") + ": the image is damaged or truncated (JPEG", e.Message);
        Assert.EndsWith(").", e.Message);
    }

    [Fact]
    public void Images_cut_short_are_refused_even_when_skia_could_show_part_of_them()
    {
        // Skia decodes the rows it has and reports IncompleteInput; PIL refuses such files, and so must we.
        using var dir = new ImagingTempDir();
        var jpeg = File.ReadAllBytes(ImagingPaths.Photo("rocket.jpg"));
        string cut = dir.Write("cut.jpg", jpeg[..(jpeg.Length / 2)]);
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(cut));
        Assert.StartsWith(cut + ": the image is damaged or truncated (JPEG", e.Message);

        var png = File.ReadAllBytes(ImagingPaths.Photo("chelsea.png"));
        string cutPng = dir.Write("cut.png", png[..(png.Length / 2)]);
        Assert.StartsWith(cutPng + ": the image is damaged or truncated (PNG", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(cutPng)).Message);
    }

    [Fact]
    public void A_text_file_is_not_an_image()
    {
        using var dir = new ImagingTempDir();
        string path = dir.Write("notes.txt", "BM is not a bitmap, just a note.\n"u8.ToArray());
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));
        Assert.Equal(path + ": not an image SkiaSharp can decode (JPEG, PNG, BMP, GIF, WebP).", e.Message);

        string empty = dir.Write("empty.png", []);
        Assert.Equal(empty + ": the file is empty.", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(empty)).Message);
        var missing = Path.Combine(dir.Path, "missing.jpg");
        Assert.Equal(missing + ": no such file.", Assert.Throws<Res2NetException>(() => ImageDecoder.Decode(missing)).Message);
    }
}
