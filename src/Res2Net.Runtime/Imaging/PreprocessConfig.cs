using System.Collections.ObjectModel;

namespace Res2Net.Imaging;

/// <summary>
/// The evaluation transform a model was trained with (timm's <c>pretrained_cfg</c>): the shorter side resized to
/// <see cref="ResizeSize"/> (<c>floor(InputSize / CropPct)</c>), a centred <see cref="InputSize"/> square cut out,
/// values scaled to [0, 1] and normalised with <see cref="Mean"/> and <see cref="Std"/> per channel.
/// </summary>
public sealed record PreprocessConfig
{
    private readonly ReadOnlyCollection<float> mean = null!;
    private readonly ReadOnlyCollection<float> std = null!;

    /// <summary>A transform; <paramref name="mean"/> and <paramref name="std"/> are copied.</summary>
    public PreprocessConfig(int inputSize, double cropPct, IReadOnlyList<float> mean, IReadOnlyList<float> std, Interpolation interpolation = Interpolation.Bilinear)
    {
        InputSize = inputSize;
        CropPct = cropPct;
        Mean = mean;
        Std = std;
        Interpolation = interpolation;
    }

    /// <summary>The ImageNet evaluation transform of torchvision and timm: resize 256, crop 224, ImageNet mean and std.</summary>
    public static PreprocessConfig ImageNet { get; } = new(224, 0.875, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Side of the square network input in pixels.</summary>
    public int InputSize { get; init; }

    /// <summary>Fraction of the resized photo the centre crop keeps (0.875: resize 256, crop 224; 1: no margin).</summary>
    public double CropPct { get; init; }

    /// <summary>Per-channel mean subtracted after scaling to [0, 1].</summary>
    public IReadOnlyList<float> Mean
    {
        get => mean;
        init => mean = Array.AsReadOnly((value ?? throw new ArgumentNullException(nameof(Mean))).ToArray());
    }

    /// <summary>Per-channel standard deviation divided by after the mean is subtracted.</summary>
    public IReadOnlyList<float> Std
    {
        get => std;
        init => std = Array.AsReadOnly((value ?? throw new ArgumentNullException(nameof(Std))).ToArray());
    }

    /// <summary>PIL's resampling filter.</summary>
    public Interpolation Interpolation { get; init; }

    /// <summary>The shorter side after resizing, <c>floor(InputSize / CropPct)</c> as timm computes it (256 for 224 / 0.875).</summary>
    public int ResizeSize => (int)Math.Floor(InputSize / CropPct);

    /// <summary>
    /// The transform for a model with <paramref name="channels"/> input channels. This is the library's one rule for
    /// grayscale: a 1-channel model (trained on gray images, or with an RGB stem whose filters were summed) takes the
    /// luminance normalised with the average of the RGB means and of the RGB standard deviations, since a gray pixel
    /// is the same value in all three channels. Training, evaluation, classification and export all go through here.
    /// </summary>
    public PreprocessConfig ForChannels(int channels)
    {
        if (channels == Mean.Count)
        {
            return this;
        }

        if (channels == 1)
        {
            return this with { Mean = [Mean.Average()], Std = [Std.Average()] };
        }

        if (Mean.Count == 1)
        {
            return this with { Mean = Enumerable.Repeat(Mean[0], channels).ToArray(), Std = Enumerable.Repeat(Std[0], channels).ToArray() };
        }

        throw new InvalidOptionException("Channels", $"must be 1 or {Mean.Count} for a transform normalised over {Mean.Count} channels (got {channels})");
    }

    /// <summary>
    /// Checks the transform, the one rule for every place a transform comes from (the registry, a file's metadata, a
    /// caller's options): a side from 1 to <see cref="Limits.MaxInputSide"/>, a crop fraction in (0, 1], finite means,
    /// positive standard deviations, one of each per channel.
    /// </summary>
    /// <exception cref="InvalidOptionException">A value is out of range; the exception names it.</exception>
    public void Validate()
    {
        if (InputSize is < 1 or > Limits.MaxInputSide)
        {
            throw new InvalidOptionException(nameof(InputSize), $"must be from 1 to {Limits.MaxInputSide} pixels (got {InputSize})");
        }

        if (!(CropPct > 0 && CropPct <= 1))
        {
            throw new InvalidOptionException(nameof(CropPct), $"must be in (0, 1] (got {CropPct})");
        }

        if (Mean.Count == 0 || Mean.Count != Std.Count)
        {
            throw new InvalidOptionException(nameof(Mean), $"and Std must give one value per channel (got {Mean.Count} and {Std.Count})");
        }

        if (Mean.Any(m => !float.IsFinite(m)))
        {
            throw new InvalidOptionException(nameof(Mean), "must be finite for every channel");
        }

        if (Std.Any(s => !(s > 0) || !float.IsFinite(s)))
        {
            throw new InvalidOptionException(nameof(Std), "must be positive and finite for every channel");
        }

        if (!Enum.IsDefined(Interpolation))
        {
            throw new InvalidOptionException(nameof(Interpolation), $"must be Bilinear or Bicubic (got {(int)Interpolation})");
        }
    }

    /// <summary>Parses a filter name as timm and PIL spell it: <c>bilinear</c> or <c>bicubic</c>.</summary>
    /// <exception cref="InvalidOptionException">The name is neither.</exception>
    public static Interpolation ParseInterpolation(string name) => name switch
    {
        "bilinear" => Interpolation.Bilinear,
        "bicubic" => Interpolation.Bicubic,
        _ => throw new InvalidOptionException(nameof(Interpolation), $"must be bilinear or bicubic (got '{name}')"),
    };

    /// <summary>The filter's name as timm and PIL spell it: <c>bilinear</c> or <c>bicubic</c>.</summary>
    public static string Name(Interpolation interpolation) => interpolation == Interpolation.Bicubic ? "bicubic" : "bilinear";

    /// <inheritdoc/>
    public bool Equals(PreprocessConfig? other) =>
        other is not null && InputSize == other.InputSize && CropPct.Equals(other.CropPct) && Interpolation == other.Interpolation
        && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    /// <summary>"224 px, crop 0.875, bilinear, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]".</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{InputSize} px, crop {CropPct}, {Name(Interpolation)}, mean [{string.Join(", ", Mean)}], std [{string.Join(", ", Std)}]");

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputSize, CropPct, Interpolation, Mean.Count, Mean.FirstOrDefault(), Std.FirstOrDefault());
}
