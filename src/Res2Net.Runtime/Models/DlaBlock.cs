namespace Res2Net.Models;

/// <summary>Which block the DLA tree is built from.</summary>
public enum DlaBlock
{
    /// <summary>Res2Net block, width floor(planes * baseWidth / 128).</summary>
    Res2Net,

    /// <summary>Res2NeXt block, width planes * cardinality / 32, grouped 3x3 convolutions.</summary>
    Res2NeXt,
}
