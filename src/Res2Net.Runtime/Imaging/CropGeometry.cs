namespace Res2Net.Imaging;

/// <summary>
/// Where the evaluation transform takes its square from an image of <see cref="Width"/> x <see cref="Height"/>: the
/// resized size and the crop within it, and the same square in the original image's pixels (to lay a map over it).
/// </summary>
/// <param name="Width">Width of the original image.</param>
/// <param name="Height">Height of the original image.</param>
/// <param name="ResizedWidth">Width after the shorter side is resized.</param>
/// <param name="ResizedHeight">Height after the shorter side is resized.</param>
/// <param name="CropLeft">Left edge of the crop in the resized image.</param>
/// <param name="CropTop">Top edge of the crop in the resized image.</param>
/// <param name="CropSize">Side of the square crop.</param>
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
