using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Training;
using Res2Net.Weights;

namespace Res2Net.Cli;

/// <summary>
/// Calibration inputs for INT8 export: a dataset directory (as for train: IDX, CIFAR, ImageFolder) gives a
/// class-balanced sample of its training images; photos are preprocessed as classify does; .npy batches are used as
/// they are. A file that cannot be read is reported through <c>error</c> and skipped.
/// </summary>
internal static class CalibrationBatches
{
    /// <summary>Training images taken from a dataset directory.</summary>
    public const int DatasetImages = 256;

    public static IEnumerable<(float[] Data, long[] Shape)> Read(IEnumerable<string> inputs, ImagePreprocessor preprocessor, int size,
        ModelInfo info, Action<string> error)
    {
        var rest = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input) && TryDataset(input, size, preprocessor.Channels) is { } train)
            {
                // Every n-th image: spread over the file, so every class is in (the readers keep the file's order).
                var step = Math.Max(1, train.Count / DatasetImages);
                var picked = Enumerable.Range(0, Math.Min(DatasetImages, train.Count)).Select(i => i * step).ToArray();
                var maker = new BatchMaker(train, preprocessor.Channels, size, info.Preprocess.Mean, info.Preprocess.Std);
                for (var start = 0; start < picked.Length; start += 32)
                {
                    var (x, y) = maker.Make(picked.AsSpan(start, Math.Min(32, picked.Length - start)), Augmentation.None, null);
                    using (x)
                    using (y)
                    {
                        yield return (x.data<float>().ToArray(), x.shape);
                    }
                }
            }
            else
            {
                rest.Add(input);
            }
        }

        foreach (var file in Predictor.ExpandInputs(rest))
        {
            (float[], long[])? batch;
            try
            {
                batch = ReadFile(file, preprocessor, size);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ImageDecodeException or UnauthorizedAccessException)
            {
                error(e.Message.StartsWith(file, StringComparison.Ordinal) ? e.Message : $"{file}: {e.Message}");
                continue;
            }

            yield return batch.Value;
        }
    }

    private static (float[], long[]) ReadFile(string file, ImagePreprocessor preprocessor, int size)
    {
        if (file.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var npy = Npy.Read(file);
            if (npy.Shape.Length != 4 || npy.Shape[1] != preprocessor.Channels || npy.Shape[2] != size || npy.Shape[3] != size)
            {
                throw new InvalidDataException($"{file}: a calibration batch must be (N, {preprocessor.Channels}, {size}, {size}), not ({string.Join(", ", npy.Shape)}).");
            }

            return (npy.ToFloatArray(), npy.Shape.ToArray());
        }

        using var x = preprocessor.Process(file);
        return (x.data<float>().ToArray(), [1, .. x.shape]);
    }

    private static ImageDataset? TryDataset(string dir, int size, int channels)
    {
        try
        {
            return DatasetLoader.Load(dir, size, channels).Train;
        }
        catch (DatasetFormatException)
        {
            return null;   // a folder of photos
        }
    }
}
