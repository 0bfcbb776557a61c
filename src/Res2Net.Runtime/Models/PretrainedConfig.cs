using Res2Net.Imaging;

namespace Res2Net.Models;

/// <summary>
/// One published set of weights for an architecture, as timm's <c>arch.tag</c> pretrained configurations: where the
/// file is and the hash it is checked against, what it expects of photos, the classes it knows, the figures published
/// for it, and the terms it is released under. <see cref="ModelInfo.Pretrained"/> lists them; the metadata of every
/// file made from these weights carries <see cref="Name"/> and <see cref="License"/>.
/// </summary>
public sealed record PretrainedConfig
{
    private readonly IReadOnlyList<string> classNames = [];

    /// <summary>The registered model (architecture) the weights are for.</summary>
    public required string Model { get; init; }

    /// <summary>The tag that names these weights among the model's (<c>in1k</c>: trained on ImageNet-1k).</summary>
    public required string Tag { get; init; }

    /// <summary>The full name, <c>model.tag</c> (<c>res2net50_26w_4s.in1k</c>).</summary>
    public string Name => $"{Model}.{Tag}";

    /// <summary>The published download address.</summary>
    public required string Url { get; init; }

    /// <summary>
    /// The start of the file's SHA-256 as published (the hex digits torch.hub checks, from the file name
    /// <c>name-06e79181.pth</c>); a download is accepted only when its hash starts with it.
    /// </summary>
    public required string Sha256Prefix { get; init; }

    /// <summary>The file name at the end of <see cref="Url"/>, under which the cache keeps it.</summary>
    public string FileName => Url[(Url.LastIndexOf('/') + 1)..];

    /// <summary>The evaluation transform the weights were trained with.</summary>
    public required PreprocessConfig Preprocess { get; init; }

    /// <summary>The names of the classes the classifier outputs, in index order.</summary>
    public required IReadOnlyList<string> ClassNames
    {
        get => classNames;
        init => classNames = Array.AsReadOnly((value ?? throw new ArgumentNullException(nameof(ClassNames))).ToArray());
    }

    /// <summary>The classifier's outputs.</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>Published top-1 error on the evaluation set (ImageNet-1k validation, 224x224 centre crop), percent.</summary>
    public double? Top1Error { get; init; }

    /// <summary>Published top-5 error, percent.</summary>
    public double? Top5Error { get; init; }

    /// <summary>The weights' license, as an SPDX identifier (<c>CC-BY-NC-SA-4.0</c> for the official Res2Net weights).</summary>
    public required string License { get; init; }

    /// <summary>What the license allows, in a few words, for people deciding whether they may ship the weights.</summary>
    public required string LicenseTerms { get; init; }

    /// <summary>Where the license is stated (the repository that publishes the weights).</summary>
    public required string LicenseUrl { get; init; }
}
