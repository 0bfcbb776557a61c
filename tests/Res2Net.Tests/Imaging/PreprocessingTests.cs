using Res2Net.Imaging;
using Res2Net.Weights;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Res2Net.Tests.Imaging;

public class PreprocessingTests(ITestOutputHelper output)
{
    private static readonly ImagePreprocessor Default = new();

    public static TheoryData<string> Photos => ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "palette_color.png", "rocket.jpg"];

    [Theory]
    [MemberData(nameof(Photos))]
    public void Photos_match_torchvision_and_PIL(string name)
    {
        using var scope = NewDisposeScope();
        var actual = Default.Process(ImagingPaths.Photo(name)).ToTensor();
        var expected = Npy.Read(ImagingPaths.Photo(Path.GetFileNameWithoutExtension(name) + ".expected.npy")).ToTensor();
        Assert.Equal([3L, 224, 224], actual.shape);
        var diff = (actual - expected).abs();
        double mean = diff.mean().item<float>(), max = diff.max().item<float>();
        output.WriteLine($"{name}: mean {mean:G3}, max {max:G3}");
        // Exact: PIL's resampling is ported byte for byte and the normalisation rounds as torchvision's does.
        Assert.True(max == 0, $"{name}: mean absolute difference {mean}, maximum {max}");
    }

    /// <summary>
    /// Every resampling path this CPU has, the scalar one included (the path of CPUs without AVX2), against PIL's own
    /// output: each path is held to the reference, not only to the others.
    /// </summary>
    [Fact]
    public void Every_vector_path_and_the_scalar_one_give_PILs_bytes()
    {
        var isas = Enum.GetValues<PilResample.Isa>().Where(PilResample.IsSupported).ToList();
        Assert.Contains(PilResample.Isa.Scalar, isas);
        foreach (var name in new[] { "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "palette_color.png", "rocket.jpg" })
        {
            var photo = ImageDecoder.Decode(ImagingPaths.Photo(name));
            var expected = Npy.Read(ImagingPaths.Photo(Path.GetFileNameWithoutExtension(name) + ".expected.npy")).ToFloatArray();
            foreach (var isa in isas)
            {
                var actual = new float[Default.OutputLength];
                Default.ProcessInto(photo, actual, isa);
                Assert.True(actual.AsSpan().SequenceEqual(expected), $"{name} on {isa}: not PIL's bytes");
            }
        }
    }

    [Theory]
    [InlineData("noise.png", "bilinear")]
    [InlineData("noise.png", "bicubic")]
    [InlineData("small.png", "bilinear")]
    [InlineData("small.png", "bicubic")]
    public void Odd_sizes_enlargement_and_bicubic_match_torchvision(string name, string interpolation)
    {
        // 40x30 resizes to 36x27 and crops at top round(1.5) = 2; 9x7 is enlarged.
        using var scope = NewDisposeScope();
        var config = PreprocessConfig.ImageNet with { InputSize = 24, Interpolation = PreprocessConfig.ParseInterpolation(interpolation) };
        var actual = new ImagePreprocessor(config).Process(ImagingPaths.Data(name)).ToTensor();
        var expected = Npy.Read(ImagingPaths.Data($"{Path.GetFileNameWithoutExtension(name)}.{interpolation}.npy")).ToTensor();
        Assert.Equal([3L, 24, 24], actual.shape);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 0), $"{name} {interpolation}: max difference {(actual - expected).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData("noise.png")]
    [InlineData("small.png")]
    public void One_channel_uses_PIL_luminance(string name)
    {
        using var scope = NewDisposeScope();
        var config = new PreprocessConfig(24, 0.875, [0.5f], [0.25f]);
        var actual = new ImagePreprocessor(config, channels: 1).Process(ImagingPaths.Data(name)).ToTensor();
        var expected = Npy.Read(ImagingPaths.Data($"{Path.GetFileNameWithoutExtension(name)}.gray.npy")).ToTensor();
        Assert.Equal([1L, 24, 24], actual.shape);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 0), $"{name}: max difference {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Geometry_follows_torchvision()
    {
        var g = Default.Geometry(640, 427);
        Assert.Equal((383, 256), (g.ResizedWidth, g.ResizedHeight)); // int(256 * 640 / 427) = 383
        Assert.Equal((80, 16, 224), (g.CropLeft, g.CropTop, g.CropSize)); // round(79.5) = 80 (half to even)
        Assert.Equal(80 * 640 / 383.0, g.SourceLeft, 9);
        Assert.Equal(224 * 427 / 256.0, g.SourceHeight, 9);

        var tall = Default.Geometry(300, 451);
        Assert.Equal((256, 384, 16, 80), (tall.ResizedWidth, tall.ResizedHeight, tall.CropLeft, tall.CropTop));
        Assert.Equal(256, new ImagePreprocessor(PreprocessConfig.ImageNet).ResizeSize);
        Assert.Equal(329, new ImagePreprocessor(PreprocessConfig.ImageNet with { InputSize = 288 }).ResizeSize); // floor(329.14)
    }

    [Fact]
    public void Stacks_keep_order_and_bytes_and_bitmaps_agree_with_paths()
    {
        string a = ImagingPaths.Photo("rocket.jpg"), b = ImagingPaths.Photo("palette_color.png");
        var batch = FloatTensor.Stack([Default.Process(a), Default.Process(b)]);
        Assert.Equal([2L, 3, 224, 224], batch.Shape);
        Assert.True(batch.Row(0).Values.Span.SequenceEqual(Default.Process(a).Values.Span));
        Assert.True(batch.Row(1).Values.Span.SequenceEqual(Default.Process(File.ReadAllBytes(b), "palette_color.png").Values.Span));
        using var bitmap = ImageDecoder.Decode(a).ToBitmap();
        Assert.True(batch.Row(0).Values.Span.SequenceEqual(Default.Process(bitmap).Values.Span));
        var into = new float[Default.OutputLength];
        Default.ProcessInto(ImageDecoder.Decode(a), into);
        Assert.True(into.AsSpan().SequenceEqual(Default.Process(a).Values.Span));
    }

    [Fact]
    public void Preprocessing_makes_no_native_tensors()
    {
        // The runtime package has no LibTorch: photos become plain float arrays.
        using var outer = NewDisposeScope();
        long before = outer.DisposablesCount;
        var t = Default.Process(ImagingPaths.Photo("palette_color.png"));
        Assert.Equal(before, outer.DisposablesCount);
        Assert.Equal(3 * 224 * 224, t.Values.Length);
    }

    [Fact]
    public void Bad_configurations_are_refused_and_gray_models_take_the_average_normalisation()
    {
        Assert.Equal("Interpolation", Assert.Throws<InvalidOptionException>(() => new ImagePreprocessor(PreprocessConfig.ImageNet with { Interpolation = (Interpolation)7 })).Option);
        Assert.Equal("CropPct", Assert.Throws<InvalidOptionException>(() => new ImagePreprocessor(PreprocessConfig.ImageNet with { CropPct = 1.2 })).Option);
        Assert.Equal("Channels", Assert.Throws<InvalidOptionException>(() => new ImagePreprocessor(channels: 2)).Option);

        // The one grayscale rule: the average of the RGB means and standard deviations.
        var gray = new ImagePreprocessor(PreprocessConfig.ImageNet, channels: 1);
        Assert.Equal((0.485f + 0.456f + 0.406f) / 3, gray.Config.Mean.Single(), 6);
        Assert.Equal((0.229f + 0.224f + 0.225f) / 3, gray.Config.Std.Single(), 6);
    }
}
