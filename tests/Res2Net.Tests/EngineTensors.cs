using Res2Net.Engines;
using static TorchSharp.torch;

namespace Res2Net.Tests;

/// <summary>Torch tensors in and out of any engine, so that tests compare numbers with LibTorch's operations.</summary>
internal static class EngineTensors
{
    public static Tensor Logits(this IInferenceEngine engine, Tensor batch) => engine.Logits(batch.ToFloatTensor()).ToTensor();

    public static Tensor Features(this IInferenceEngine engine, Tensor batch, FeatureStage stage) =>
        engine.Features(batch.ToFloatTensor(), [stage])[0].ToTensor();

    public static IReadOnlyList<Prediction> Classify(this IInferenceEngine engine, Tensor batch, int topk = 5) =>
        engine.Classify(batch.ToFloatTensor(), topk);
}
