using Res2Net.Imaging;
using Xunit;

namespace Res2Net.Tests.Imaging;

/// <summary>
/// Every vectorised path of the PIL resampling port gives the scalar path's bytes (which the preprocessing tests hold
/// to PIL's and torchvision's), and the fused normalisation gives the floats of normalising those bytes.
/// </summary>
public class ResampleTests
{
    public static TheoryData<int> Seeds() => [1, 2, 3, 4, 5, 6];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Vector_paths_equal_the_scalar_port_byte_for_byte_and_float_for_float(int seed)
    {
        var random = new Random(seed);
        var isas = Enum.GetValues<PilResample.Isa>().Where(PilResample.IsSupported).ToList();
        for (var n = 0; n < 40; n++)
        {
            var channels = random.Next(2) == 0 ? 1 : 3;
            int width = random.Next(1, 400), height = random.Next(1, 400);
            int outWidth = random.Next(1, 300), outHeight = random.Next(1, 300);
            int windowWidth = random.Next(1, outWidth + 1), windowHeight = random.Next(1, outHeight + 1);
            int left = random.Next(0, outWidth - windowWidth + 1), top = random.Next(0, outHeight - windowHeight + 1);
            var filter = random.Next(2) == 0 ? PilResample.Bilinear : PilResample.Bicubic;
            var src = new byte[width * height * channels];
            random.NextBytes(src);
            var mean = Enumerable.Range(0, channels).Select(_ => (float)random.NextDouble()).ToArray();
            var std = Enumerable.Range(0, channels).Select(_ => 0.1f + (float)random.NextDouble()).ToArray();
            var config = new PreprocessConfig(8, 1.0, mean, std);
            var tables = PixelTables.For(config, channels);

            var expected = new byte[windowWidth * windowHeight * channels];
            PilResample.ResizeWindow(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter, expected, PilResample.Isa.Scalar);
            var expectedFloats = new float[expected.Length];
            var plane = windowWidth * windowHeight;
            for (var i = 0; i < plane; i++)
            {
                for (var c = 0; c < channels; c++)
                {
                    expectedFloats[(c * plane) + i] = tables[c][expected[(i * channels) + c]];
                }
            }

            foreach (var isa in isas)
            {
                var bytes = new byte[expected.Length];
                PilResample.ResizeWindow(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter, bytes, isa);
                Assert.True(bytes.AsSpan().SequenceEqual(expected), $"{isa}: {width}x{height}x{channels} -> {outWidth}x{outHeight}, window {windowWidth}x{windowHeight} at ({left}, {top})");
                var floats = new float[expected.Length];
                PilResample.ResizeCropNormalize(src, width, height, channels, outWidth, outHeight, left, top, windowWidth, windowHeight, filter, mean, std, floats, isa);
                Assert.True(floats.AsSpan().SequenceEqual(expectedFloats), $"{isa}: normalised floats differ for {width}x{height}x{channels}");
            }
        }
    }
}
