namespace Res2Net.Models;

/// <summary>How the first layers turn the image into the first feature map.</summary>
public enum StemType
{
    /// <summary>One 7x7 stride-2 convolution, then a 3x3 stride-2 max-pool (ResNet v1, Res2Net v1).</summary>
    Conv7x7,

    /// <summary>Three 3x3 convolutions (to StemWidth/2, StemWidth/2, StemWidth), then the max-pool (Res2Net v1b, timm "d").</summary>
    Deep,

    /// <summary>One 3x3 stride-1 convolution and no max-pool, for 28-32 pixel images (CIFAR-style).</summary>
    Cifar,
}
