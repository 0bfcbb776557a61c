namespace Res2Net.Models;

/// <summary>CIFAR-style models (3x3 stem, no max-pool, three stages) for 28-32 pixel images.</summary>
internal static class SmallImageModels
{
    public static readonly ModelInfo[] All = [];
}
