namespace Res2Net.Imaging;

/// <summary>
/// The normalisation of 8-bit pixels as tables: for every byte v and channel c, ((v / 255) - mean[c]) / std[c], each
/// step rounded to float32 as torchvision's ToTensor and Normalize round it. One lookup per pixel, and the same
/// floats wherever pixels are normalised (preprocessing, training batches, calibration).
/// </summary>
internal static class PixelTables
{
    public static float[][] For(PreprocessConfig config, int channels)
    {
        config = config.ForChannels(channels);
        var tables = new float[channels][];
        for (var c = 0; c < channels; c++)
        {
            tables[c] = new float[256];
            for (var v = 0; v < 256; v++)
            {
                tables[c][v] = ((v / 255f) - config.Mean[c]) / config.Std[c];
            }
        }

        return tables;
    }
}
