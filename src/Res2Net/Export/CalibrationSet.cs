using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.Training;
using Res2Net.Weights;

namespace Res2Net.Export;

/// <summary>
/// The inputs INT8 calibration measures value ranges on: a dataset folder (as training reads it: IDX, CIFAR,
/// ImageFolder) gives a spread-out sample of its training images; photos are preprocessed as classification does; .npy
/// batches are used as they are. A file that cannot be read is named through <c>failed</c> and left out; special files
/// and links to folders met in a folder are noted through <c>skipped</c>.
/// </summary>
public static class CalibrationSet
{
    /// <summary>Training images taken from a dataset folder.</summary>
    public const int DatasetImages = 256;

    /// <summary>The calibration batches, normalised as <paramref name="preprocessor"/> says, of its input size.</summary>
    /// <param name="inputs">Dataset folders, photos, folders of photos and .npy batches.</param>
    /// <param name="preprocessor">The transform photos get (the model's, at the export's size).</param>
    /// <param name="failed">Told of each file that could not be read (it is left out).</param>
    /// <param name="skipped">Told of each special file or link to a folder skipped in a folder.</param>
    public static IEnumerable<FloatTensor> Read(IEnumerable<string> inputs, ImagePreprocessor preprocessor, Action<string>? failed = null,
        Action<string>? skipped = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(preprocessor);
        var size = preprocessor.InputSize;
        var rest = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input) && TryDataset(input, size, preprocessor.Channels) is { } train)
            {
                // Every n-th image: spread over the file, so every class is in (the readers keep the file's order).
                var step = Math.Max(1, train.Count / DatasetImages);
                var picked = Enumerable.Range(0, Math.Min(DatasetImages, train.Count)).Select(i => i * step).ToArray();
                var maker = new BatchMaker(train, preprocessor.Channels, size, preprocessor.Config);
                for (var start = 0; start < picked.Length; start += 32)
                {
                    var (x, y) = maker.Make(picked.AsSpan(start, Math.Min(32, picked.Length - start)), Augmentation.None, null);
                    using (x)
                    using (y)
                    {
                        yield return x.ToFloatTensor();
                    }
                }
            }
            else
            {
                rest.Add(input);
            }
        }

        foreach (var file in Predictor.ExpandInputs(rest, skipped))
        {
            FloatTensor batch;
            try
            {
                batch = ReadFile(file, preprocessor);
            }
            catch (Res2NetException e)
            {
                failed?.Invoke(e.Message);
                continue;
            }

            yield return batch;
        }
    }

    private static FloatTensor ReadFile(string file, ImagePreprocessor preprocessor)
    {
        var size = preprocessor.InputSize;
        if (file.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var npy = Npy.Read(file);
            if (npy.DType != DType.Float32 || npy.Shape.Length != 4 || npy.Shape[0] < 1 || npy.Shape[1] != preprocessor.Channels || npy.Shape[2] != size || npy.Shape[3] != size)
            {
                throw new Res2NetException($"{file}: a calibration batch must be float32 of shape (N, {preprocessor.Channels}, {size}, {size}), not {npy.DType} ({string.Join(", ", npy.Shape)}).");
            }

            return new FloatTensor(npy.ToFloatArray(), npy.Shape);
        }

        var x = preprocessor.Process(file);
        return new FloatTensor(x.Values, [1, .. x.Shape]);
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
