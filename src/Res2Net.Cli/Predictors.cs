using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;

namespace Res2Net.Cli;

/// <summary>Builds the library's predictor from command-line choices.</summary>
internal static class Predictors
{
    public static Predictor Load(ModelInfo info, string? weights, int? size, double? cropPct)
    {
        var preprocess = info.Preprocess with
        {
            InputSize = size ?? info.Preprocess.InputSize,
            CropPct = cropPct ?? info.Preprocess.CropPct,
        };
        var engine = TorchEngine.Load(info.Name, WeightsResolver.Resolve(info, weights));
        try
        {
            var channels = engine.Model.Config.InChannels;
            if (preprocess.Mean.Length != channels)
            {
                // An RGB-normalised registry entry used with a 1-channel model: luminance gets the channels' mean.
                preprocess = preprocess with { Mean = [preprocess.Mean.Average()], Std = [preprocess.Std.Average()] };
            }

            return new Predictor(engine, new ImagePreprocessor(preprocess, channels));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }
}
