namespace Res2Net.Models;

/// <summary>
/// CIFAR-style models (3x3 stem, no max-pool, three stages) for 28-32 pixel images, from one that trains on two cores
/// in minutes up to the paper's Res2NeXt-29, with plain-ResNet baselines (scale 1) of equal compute.
/// </summary>
internal static class SmallImageModels
{
    /// <summary>The model `res2net train` uses when none is named.</summary>
    public const string DefaultName = "res2net_cifar_small";

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

    // Groups of 16, 32 and 64 channels: multiples of 16, so no convolution needs the oneDNN padding workaround, and
    // none is narrower than 16 (LibTorch 2.10's 3x3 input gradient came out NaN now and then for 8-channel groups).
    // One block per stage keeps a Fashion-MNIST epoch within minutes on two cores.
    private static readonly Res2NetConfig Small = Base with { Layers = [1, 1, 1], Widths = [16, 32, 64], StemWidth = 16, BaseWidth = 64 };

    public static readonly ModelInfo[] All =
    [
        Entry("res2net_cifar_tiny", "CIFAR-style Res2Net, 3 stages x 1 block, 16w x 4s, narrow last stage (for tests and smoke runs)",
            Small with { Widths = [16, 16, 32] }),
        Entry("res2net_cifar_small", "CIFAR-style Res2Net, 3 stages x 1 block, 16w x 4s (the training default)", Small),
        // Scale 1 is a plain bottleneck; its single 3x3 group is made wider until the MACs match res2net_cifar_small.
        Entry("resnet_cifar_small", "CIFAR-style ResNet bottleneck (scale 1), the equal-compute baseline of res2net_cifar_small",
            Small with { Scale = 1, BaseWidth = 140 }),
        Entry("res2net_cifar_medium", "CIFAR-style Res2Net, 3 stages x 2 blocks, 16w x 4s",
            Small with { Layers = [2, 2, 2], StemWidth = 32 }),
        Entry("res2next29_6cx24wx4s", "Res2NeXt-29, 6c x 24w x 4s, the paper's CIFAR model",
            Base with { Layers = [3, 3, 3], Widths = [64, 128, 256], StemWidth = 64, BaseWidth = 24, Cardinality = 6, NumClasses = 100 }),
    ];

    private static ModelInfo Entry(string name, string description, Res2NetConfig config) =>
        new(name, [], description, config, Cifar, null, new OfficialFigures(null, null, null, null));
}
