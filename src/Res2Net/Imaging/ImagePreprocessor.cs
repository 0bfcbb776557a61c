using Res2Net.Models;
using SkiaSharp;
using static TorchSharp.torch;

namespace Res2Net.Imaging;

/// <summary>
/// Where the evaluation transform takes its crop from, for an image of a given size: the resized size and the crop
/// square within it, and the same square in the original image's pixel coordinates (e.g. to lay a heatmap over it).
/// </summary>
public readonly record struct CropGeometry(int Width, int Height, int ResizedWidth, int ResizedHeight, int CropLeft, int CropTop, int CropSize)
{
    /// <summary>The crop's left edge in original pixels.</summary>
    public double SourceLeft => CropLeft * (double)Width / ResizedWidth;

    /// <summary>The crop's top edge in original pixels.</summary>
    public double SourceTop => CropTop * (double)Height / ResizedHeight;

    /// <summary>The crop's width in original pixels.</summary>
    public double SourceWidth => CropSize * (double)Width / ResizedWidth;

    /// <summary>The crop's height in original pixels.</summary>
    public double SourceHeight => CropSize * (double)Height / ResizedHeight;
}

/// <summary>
/// The ImageNet evaluation transform of torchvision and timm for these models, reproducing the PIL pipeline
/// <c>Resize(floor(InputSize / CropPct))</c>, <c>CenterCrop(InputSize)</c>, <c>ToTensor()</c>, <c>Normalize(Mean, Std)</c>
/// after <c>convert('RGB')</c> (or <c>convert('L')</c> for one channel) byte for byte. Immutable and thread-safe.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly PilResample.Filter filter;

    /// <param name="config">Sizes, normalisation and interpolation (bilinear or bicubic); default <see cref="PreprocessConfig.ImageNet"/>.</param>
    /// <param name="channels">3 for RGB models; 1 for models that take PIL's luminance (<c>convert('L')</c>).</param>
    public ImagePreprocessor(PreprocessConfig? config = null, int channels = 3)
    {
        config ??= PreprocessConfig.ImageNet;
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images are preprocessed to 1 (luminance) or 3 (RGB) channels.");
        if (config.InputSize <= 0)
            throw new ArgumentException($"The input size must be positive, got {config.InputSize}.", nameof(config));
        if (!(config.CropPct > 0 && config.CropPct <= 1))
            throw new ArgumentException($"The crop fraction must be in (0, 1], got {config.CropPct}.", nameof(config));
        if (config.Mean is null || config.Std is null || config.Mean.Length != channels || config.Std.Length != channels)
            throw new ArgumentException($"Mean and std need {channels} value(s) each for {channels}-channel input.", nameof(config));
        if (config.Std.Any(s => !(s > 0)))
            throw new ArgumentException("Every std value must be positive.", nameof(config));
        filter = config.Interpolation.ToLowerInvariant() switch
        {
            "bilinear" => PilResample.Bilinear,
            "bicubic" => PilResample.Bicubic,
            _ => throw new ArgumentException($"Interpolation '{config.Interpolation}' is not supported (bilinear or bicubic).", nameof(config)),
        };

        Config = config;
        Channels = channels;
        ResizeSize = (int)Math.Floor(config.InputSize / config.CropPct);
    }

    public PreprocessConfig Config { get; }

    public int Channels { get; }

    public int InputSize => Config.InputSize;

    /// <summary>The shorter side after resizing, <c>floor(InputSize / CropPct)</c> as timm computes it (256 for 224 / 0.875).</summary>
    public int ResizeSize { get; }

    /// <summary>Decodes an image file to RGB (see <see cref="ImageDecoder.Decode(string)"/>).</summary>
    public static DecodedImage Decode(string path) => ImageDecoder.Decode(path);

    /// <summary>Reads and preprocesses one image file into a float32 tensor of shape (Channels, InputSize, InputSize).</summary>
    /// <exception cref="ImageDecodeException">The file is not an image or is damaged.</exception>
    public Tensor Process(string path) => Process(ImageDecoder.Decode(path));

    /// <summary>Preprocesses an encoded image (file contents); <paramref name="name"/> names it in error messages.</summary>
    public Tensor Process(ReadOnlySpan<byte> encoded, string name = "image") => Process(ImageDecoder.Decode(encoded, name));

    /// <summary>Preprocesses a bitmap (alpha dropped as PIL drops it).</summary>
    public Tensor Process(SKBitmap bitmap) => Process(ImageDecoder.FromBitmap(bitmap));

    /// <summary>Preprocesses a decoded image into a float32 tensor of shape (Channels, InputSize, InputSize).</summary>
    public Tensor Process(DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var g = Geometry(image.Width, image.Height);
        byte[] pixels = Channels == 3 ? image.RgbArray : image.ToLuminance();
        byte[] crop = PilResample.ResizeWindow(pixels, image.Width, image.Height, Channels, g.ResizedWidth, g.ResizedHeight,
            g.CropLeft, g.CropTop, g.CropSize, g.CropSize, filter);

        return Normalize(crop, g.CropSize, g.CropSize);
    }

    private Tensor Normalize(byte[] pixels, int width, int height)
    {
        using var scope = NewDisposeScope();
        using var byteRange = TorchSharp.ScalarExtensionMethods.ToScalar(255f); // held until the call returns (see Training/Optimizers.cs, SgdUpdate)
        var x = tensor(pixels, [height, width, Channels], ScalarType.Byte).permute(2, 0, 1).to(ScalarType.Float32).div_(byteRange);
        x = x.sub_(tensor(Config.Mean).view(Channels, 1, 1)).div_(tensor(Config.Std).view(Channels, 1, 1));
        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The whole image, shorter side resized to <see cref="ResizeSize"/> and nothing cropped, normalised as
    /// <see cref="Process(DecodedImage)"/>: for maps that should cover the full photo (Grad-CAM).
    /// </summary>
    public Tensor ProcessUncropped(DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var g = Geometry(image.Width, image.Height);
        byte[] pixels = Channels == 3 ? image.RgbArray : image.ToLuminance();
        byte[] resized = PilResample.ResizeWindow(pixels, image.Width, image.Height, Channels, g.ResizedWidth, g.ResizedHeight,
            0, 0, g.ResizedWidth, g.ResizedHeight, filter);
        return Normalize(resized, g.ResizedWidth, g.ResizedHeight);
    }

    /// <summary>Reads and preprocesses image files into one float32 batch of shape (N, Channels, InputSize, InputSize).</summary>
    public Tensor ProcessBatch(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        using var scope = NewDisposeScope();
        var items = paths.Select(Process).ToList();
        if (items.Count == 0)
            return empty([0, Channels, InputSize, InputSize], ScalarType.Float32).MoveToOuterDisposeScope();
        return stack(items).MoveToOuterDisposeScope();
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
            resizedHeight = (int)((long)ResizeSize * height / width);
        }
        else
        {
            resizedHeight = ResizeSize;
            resizedWidth = (int)((long)ResizeSize * width / height);
        }

        int top = (int)Math.Round((resizedHeight - InputSize) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((resizedWidth - InputSize) / 2.0, MidpointRounding.ToEven);
        return new CropGeometry(width, height, resizedWidth, resizedHeight, left, top, InputSize);
    }
}
