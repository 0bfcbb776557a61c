using Res2Net.Weights;

namespace Res2Net.Models;

/// <summary>What this package knows of published weights that the registry's data cannot say alone: how large their file can be.</summary>
public static class PretrainedSizes
{
    extension(PretrainedConfig weights)
    {
        /// <summary>
        /// The largest file the weights can honestly be: their tensors' bytes, from the architecture, plus
        /// <see cref="Limits.DownloadOverheadBytes"/> for the container. A download stops as soon as more arrives.
        /// </summary>
        public long MaxBytes => ModelWeights.StateDictBytes(ModelRegistry.Get(weights.Model), weights.NumClasses) + Limits.DownloadOverheadBytes;
    }
}
