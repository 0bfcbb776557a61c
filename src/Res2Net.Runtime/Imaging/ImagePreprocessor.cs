using SkiaSharp;

namespace Res2Net.Imaging;

/// <summary>
/// The ImageNet evaluation transform of torchvision and timm, byte for byte: PIL's <c>convert('RGB')</c> (or
/// <c>convert('L')</c> for one channel), <c>Resize(ResizeSize)</c> with PIL's antialiasing filter,
/// <c>CenterCrop(InputSize)</c>, <c>ToTensor()</c>, <c>Normalize(Mean, Std)</c>. Immutable and thread-safe.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly PilResample.Filter filter;

    private readonly float[] mean;
    private readonly float[] std;

    /// <param name="config">Sizes, normalisation and interpolation (bilinear or bicubic); default <see cref="PreprocessConfig.ImageNet"/>.</param>
    /// <param name="channels">
    /// 3 for RGB models; 1 for models that take PIL's luminance (<c>convert('L')</c>). When the configuration is
    /// normalised over another channel count, <see cref="PreprocessConfig.ForChannels"/> adapts it.
    /// </param>
    public ImagePreprocessor(PreprocessConfig? config = null, int channels = 3)
    {
        config ??= PreprocessConfig.ImageNet;
        if (channels is not (1 or 3))
        {
            throw new InvalidOptionException("Channels", $"must be 1 (luminance) or 3 (RGB), not {channels}");
        }

        config.Validate();
        config = config.ForChannels(channels);
        filter = config.Interpolation == Interpolation.Bicubic ? PilResample.Bicubic : PilResample.Bilinear;

        Config = config;
        Channels = channels;
        (mean, std) = (config.Mean.ToArray(), config.Std.ToArray());
    }

    /// <summary>The transform, normalised over <see cref="Channels"/> channels.</summary>
    public PreprocessConfig Config { get; }

    /// <summary>1 (luminance) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>Side of the square output.</summary>
    public int InputSize => Config.InputSize;

    /// <summary>The shorter side after resizing (see <see cref="PreprocessConfig.ResizeSize"/>).</summary>
    public int ResizeSize => Config.ResizeSize;

    /// <summary>Values in one output, <c>Channels * InputSize * InputSize</c>.</summary>
    public int OutputLength => Channels * InputSize * InputSize;

    /// <summary>Reads and preprocesses one image file into (Channels, InputSize, InputSize).</summary>
    /// <exception cref="ImageDecodeException">The file is not an image this library reads, or is damaged.</exception>
    public FloatTensor Process(string path) => Process(ImageDecoder.Decode(path));

    /// <summary>Preprocesses an encoded image (file contents); <paramref name="name"/> names it in error messages.</summary>
    public FloatTensor Process(ReadOnlySpan<byte> encoded, string name = "image") => Process(ImageDecoder.Decode(encoded, name));

    /// <summary>Preprocesses a bitmap (alpha dropped as PIL drops it).</summary>
    public FloatTensor Process(SKBitmap bitmap) => Process(ImageDecoder.FromBitmap(bitmap));

    /// <summary>Preprocesses a decoded image into (Channels, InputSize, InputSize).</summary>
    public FloatTensor Process(DecodedImage image)
    {
        var output = new float[OutputLength];
        ProcessInto(image, output);
        return new FloatTensor(output, Channels, InputSize, InputSize);
    }

    /// <summary>Preprocesses a decoded image into <paramref name="destination"/> (<see cref="OutputLength"/> values, C order).</summary>
    public void ProcessInto(DecodedImage image, Span<float> destination) => ProcessInto(image, destination, PilResample.BestIsa);

    /// <summary>The same, on the vector instructions <paramref name="isa"/> names (tests hold every path to PIL's bytes).</summary>
    internal void ProcessInto(DecodedImage image, Span<float> destination, PilResample.Isa isa)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (destination.Length < OutputLength)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values; {OutputLength} are needed.", nameof(destination));
        }

        var g = Geometry(image.Width, image.Height);
        var pixels = Channels == 3 ? image.RgbArray : image.ToLuminance();
        PilResample.ResizeCropNormalize(pixels, image.Width, image.Height, Channels, g.ResizedWidth, g.ResizedHeight,
            g.CropLeft, g.CropTop, g.CropSize, g.CropSize, filter, mean, std, destination, isa);
    }

    /// <summary>
    /// The whole image, shorter side resized to <see cref="ResizeSize"/> and nothing cropped, normalised as
    /// <see cref="Process(DecodedImage)"/>: (Channels, height, width), for maps that cover the full photo (Grad-CAM).
    /// </summary>
    /// <exception cref="ImageDecodeException">The image is so elongated that the resized whole would be too large.</exception>
    public FloatTensor ProcessUncropped(DecodedImage image, string name = "image")
    {
        ArgumentNullException.ThrowIfNull(image);
        var g = Geometry(image.Width, image.Height);
        if ((long)g.ResizedWidth * g.ResizedHeight > Limits.MaxResizedPixels)
        {
            throw ImageDecodeException.For(name, $"the image is too elongated to resize whole ({image.Width}x{image.Height} would become "
                + $"{g.ResizedWidth}x{g.ResizedHeight}, more than {Limits.MaxResizedPixels:N0} pixels)");
        }

        var pixels = Channels == 3 ? image.RgbArray : image.ToLuminance();
        var output = new float[(long)Channels * g.ResizedWidth * g.ResizedHeight];
        PilResample.ResizeCropNormalize(pixels, image.Width, image.Height, Channels, g.ResizedWidth, g.ResizedHeight,
            0, 0, g.ResizedWidth, g.ResizedHeight, filter, mean, std, output);
        return new FloatTensor(output, Channels, g.ResizedHeight, g.ResizedWidth);
    }

    /// <summary>
    /// The resize and crop for an image of this size: the shorter side to <see cref="ResizeSize"/> and the longer one
    /// to <c>int(ResizeSize * long / short)</c> (torchvision's truncation), then a centred <see cref="InputSize"/>
    /// square at <c>round((resized - InputSize) / 2)</c>, rounding halves to even as Python's round does.
    /// </summary>
    public CropGeometry Geometry(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        int resizedWidth, resizedHeight;
        if (width <= height)
        {
            resizedWidth = ResizeSize;
            resizedHeight = (int)Math.Min((long)ResizeSize * height / width, int.MaxValue);
        }
        else
        {
            resizedHeight = ResizeSize;
            resizedWidth = (int)Math.Min((long)ResizeSize * width / height, int.MaxValue);
        }

        var top = (int)Math.Round((resizedHeight - InputSize) / 2.0, MidpointRounding.ToEven);
        var left = (int)Math.Round((resizedWidth - InputSize) / 2.0, MidpointRounding.ToEven);
        return new CropGeometry(width, height, resizedWidth, resizedHeight, left, top, InputSize);
    }
}
