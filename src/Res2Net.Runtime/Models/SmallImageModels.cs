using Res2Net.Imaging;

namespace Res2Net.Models;

/// <summary>
/// Small-image models (3x3 stem, no max-pool, three stages) for 28-32 pixel images, from one that trains on two cores
/// in minutes up to the paper's Res2NeXt-29, with plain-ResNet baselines (scale 1) of about equal compute.
/// </summary>
internal static class SmallImageModels
{
    /// <summary>The model `res2net train` uses when none is named.</summary>
    public const string DefaultName = "res2net_small";

    // Trained from scratch: 8-bit pixels scaled to [-1, 1]; the batch norm after the stem absorbs the rest.
    private static readonly float[] Half = [0.5f, 0.5f, 0.5f];
    private static readonly PreprocessConfig Cifar = new(32, 1.0, Half, Half);

    private static readonly Res2NetConfig Base = new()
    {
        Stem = StemType.Cifar,
        OutputStride = 4,
        NumClasses = 10,
        InChannels = 3,
    };

    // Groups of 16, 32 and 64 channels: multiples of 16, the workaround of LibTorch's defect 7 (Res2Net package,
    // LibTorch/LibTorchDefects.cs: other channel counts train with wrong gradients on LibTorch 2.10).
    private static readonly Res2NetConfig Small = Base with { Layers = [1, 1, 1], Widths = [16, 32, 64], StemWidth = 16, BaseWidth = 64 };

    // The training default: the stem halves the image (stages at 14, 7 and 4 pixels for Fashion-MNIST), which cuts the
    // compute by four, and the later stages have a second block, so the hierarchical 3x3 connections that make a
    // Res2Net (absent from the first block of a stage) are there. Measured: 3x the images per second of
    // res2net_cifar_small and better accuracy per step.
    private static readonly Res2NetConfig Fast = Small with { CifarStemStride = 2, OutputStride = 8, Layers = [1, 2, 2], StemWidth = 32 };

    public static readonly ModelInfo[] All =
    [
        Entry("res2net_small", "small-image Res2Net, stride-2 3x3 stem, 1-2-2 blocks, 16w x 4s (the training default)", Fast),
        // Scale 1 is a plain bottleneck; 32/64/128-channel 3x3s are the widest multiples of 16 within res2net_small's MACs.
        Entry("resnet_small", "small-image ResNet bottleneck (scale 1), the equal-compute baseline of res2net_small",
            Fast with { Scale = 1, BaseWidth = 128 }),
        Entry("res2net_cifar_tiny", "CIFAR-style Res2Net, 3 stages x 1 block, 16w x 4s, narrow last stage (for tests and smoke runs)",
            Small with { Widths = [16, 16, 32] }),
        Entry("res2net_cifar_small", "CIFAR-style Res2Net, 3 stages x 1 block, 16w x 4s", Small),
        Entry("resnet_cifar_small", "CIFAR-style ResNet bottleneck (scale 1), the baseline of res2net_cifar_small",
            Small with { Scale = 1, BaseWidth = 128 }),
        Entry("res2net_cifar_medium", "CIFAR-style Res2Net, 3 stages x 2 blocks, 16w x 4s",
            Small with { Layers = [2, 2, 2], StemWidth = 32 }),
        Entry("res2next29_6cx24wx4s", "Res2NeXt-29, 6c x 24w x 4s, the paper's CIFAR model",
            Base with { Layers = [3, 3, 3], Widths = [64, 128, 256], StemWidth = 64, BaseWidth = 24, Cardinality = 6, NumClasses = 100 }),
    ];

    private static ModelInfo Entry(string name, string description, Res2NetConfig config) =>
        new(name, [], description, config, Cifar, [], new OfficialFigures(null, null));
}
