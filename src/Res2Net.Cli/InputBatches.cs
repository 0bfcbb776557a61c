using Res2Net.Weights;
using static TorchSharp.torch;

namespace Res2Net.Cli;

/// <summary>Reads an input file into batches of at most <c>batchSize</c> rows.</summary>
internal static class InputBatches
{
    public static IEnumerable<Tensor> Read(string path, int channels, int batchSize)
    {
        if (!path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{path}: only .npy batches are accepted as input here (float32, N x {channels} x H x W).");
        }

        var data = Npy.Read(path);
        if (data.DType != DType.Float32 || data.Shape.Length != 4 || data.Shape[1] != channels)
        {
            throw new ArgumentException(
                $"{path}: expected a float32 batch of shape (N, {channels}, H, W), got {data.DType} ({string.Join(", ", data.Shape)}).");
        }

        using var all = data.ToTensor();
        for (long start = 0; start < all.shape[0]; start += batchSize)
        {
            yield return all.narrow(0, start, Math.Min(batchSize, all.shape[0] - start)).contiguous();
        }
    }
}
