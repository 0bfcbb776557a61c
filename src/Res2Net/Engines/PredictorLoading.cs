using Res2Net.Caching;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Engines;

/// <summary>Opens a registered model's checkpoint as a <see cref="Predictor"/> (members of Predictor where this package is referenced).</summary>
public static class PredictorLoading
{
    extension(Predictor)
    {
        /// <summary>
        /// Loads a registered model: with <paramref name="weightsPath"/>, from that file; otherwise its published weights,
        /// downloaded once into the cache. The preprocessing is the one the weights record (or the model's).
        /// </summary>
        /// <param name="modelName">A registered model name or alias.</param>
        /// <param name="weightsPath">A checkpoint; null: the published weights.</param>
        /// <param name="engine">The runtime; <see cref="EngineKind.Auto"/> picks the fastest exact one.</param>
        /// <param name="precision">The number format (bfloat16 on the torch engine only).</param>
        /// <param name="cache">Where published weights are kept; null: the default cache.</param>
        /// <param name="preprocess">Another photo transform than the recorded one.</param>
        /// <param name="cancellationToken">Stops a download.</param>
        public static async Task<Predictor> LoadAsync(string modelName, string? weightsPath = null, EngineKind engine = EngineKind.Auto,
            Precision precision = Precision.Float32, WeightsCache? cache = null, PreprocessConfig? preprocess = null,
            CancellationToken cancellationToken = default)
        {
            var info = ModelRegistry.Get(modelName);
            Precisions.Check(precision, InferenceEngines.Resolve(engine, precision));
            if (weightsPath is null)
            {
                using var owned = cache is null ? new WeightsCache() : null;
                weightsPath = await (cache ?? owned!).GetAsync(info, null, cancellationToken).ConfigureAwait(false);
            }

            var loaded = InferenceEngines.Load(weightsPath, info.Name, engine, precision);
            try
            {
                return new Predictor(loaded, preprocess is null ? null : new ImagePreprocessor(preprocess, loaded.Metadata.InChannels));
            }
            catch
            {
                loaded.Dispose();
                throw;
            }
        }

        /// <summary>
        /// <see cref="LoadAsync"/>, waiting for it: blocks while published weights are downloaded, if they are not cached.
        /// </summary>
        public static Predictor Load(string modelName, string? weightsPath = null, EngineKind engine = EngineKind.Auto,
            Precision precision = Precision.Float32, WeightsCache? cache = null, PreprocessConfig? preprocess = null) =>
            Predictor.LoadAsync(modelName, weightsPath, engine, precision, cache, preprocess).GetAwaiter().GetResult();
    }
}
