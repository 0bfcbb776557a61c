using Res2Net.IO;
using Res2Net.Models;
using Res2Net.Weights;
using static TorchSharp.torch;

namespace Res2Net.Training;

/// <summary>A few test images as an .npy batch, normalised as the model was trained, with their true labels beside.</summary>
public static class SampleExport
{
    /// <summary>
    /// Writes <paramref name="count"/> test images, spread over the split, to <c>samples.npy</c> in
    /// <paramref name="folder"/> (the batch <c>classify</c> takes), and <c>samples.txt</c>: row, label, class name.
    /// </summary>
    public static void Write(ImageDataset test, int count, string folder, ModelMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(metadata);
        count = Math.Min(count, test.Count);
        if (count < 1)
        {
            return;
        }

        var step = Math.Max(1, test.Count / count);
        var indices = Enumerable.Range(0, count).Select(i => i * step).ToArray();
        var maker = new BatchMaker(test, metadata.InChannels, metadata.Preprocess.InputSize, metadata.Preprocess);
        using var scope = NewDisposeScope();
        var (x, _) = maker.Make(indices, Augmentation.None, null);
        Npy.Write(Path.Combine(folder, "samples.npy"), x.ToTensorData());
        var lines = string.Concat(indices.Select((ix, row) => $"{row}\t{test.Labels[ix]}\t{test.Classes[test.Labels[ix]]}\n"));
        AtomicFile.Write(Path.Combine(folder, "samples.txt"), s => s.Write(System.Text.Encoding.UTF8.GetBytes(lines)));
    }
}
