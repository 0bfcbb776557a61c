namespace Res2Net.Imaging;

/// <summary>PIL's resampling filter for the resize of the evaluation transform (timm's <c>interpolation</c>).</summary>
public enum Interpolation
{
    /// <summary>PIL's BILINEAR (torchvision's default), antialiased.</summary>
    Bilinear,

    /// <summary>PIL's BICUBIC, antialiased.</summary>
    Bicubic,
}
