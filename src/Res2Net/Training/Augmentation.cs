namespace Res2Net.Training;

/// <summary>Training-time augmentation; each on/off, applied per image from the trainer's seeded generator.</summary>
public sealed record Augmentation
{
    /// <summary>Random crop after zero padding by this many pixels on each side (CIFAR's 4; 0 switches it off).</summary>
    public int CropPadding { get; init; } = 2;

    /// <summary>
    /// Random horizontal mirror. Right for clothing, objects and CIFAR (a mirrored sandal is still a sandal), wrong for
    /// digits and text, where `--no-flip` switches it off.
    /// </summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>
    /// RandomResizedCrop (scale 0.08-1, aspect 3/4-4/3, bilinear) to the model's input size, instead of the padded crop:
    /// for larger images (ImageFolder sets, fine-tuning ImageNet models).
    /// </summary>
    public bool RandomResizedCrop { get; init; }

    /// <summary>No augmentation: evaluation batches.</summary>
    public static Augmentation None { get; } = new() { CropPadding = 0, HorizontalFlip = false };
}
