using System.Text.Json;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

public class RegistryTests
{
    // The official parameter counts (issue table, from the official repository).
    public static TheoryData<string, long> OfficialParams() => new()
    {
        { "res2net50_26w_4s", 25_699_120 },
        { "res2net50_48w_2s", 25_287_304 },
        { "res2net50_14w_8s", 25_059_816 },
        { "res2net50_26w_6s", 37_051_448 },
        { "res2net50_26w_8s", 48_403_776 },
        { "res2net101_26w_4s", 45_206_688 },
        { "res2next50", 24_671_464 },
        { "res2net50_v1b_26w_4s", 25_718_352 },
        { "res2net101_v1b_26w_4s", 45_225_920 },
        { "res2net152_v1b_26w_4s", 61_294_480 },
        { "res2net_dla60", 21_145_544 },
        { "res2next_dla60", 17_330_456 },
    };

    [Theory]
    [MemberData(nameof(OfficialParams))]
    public void Parameter_counts_equal_the_official_ones(string name, long expected)
    {
        using var model = ModelRegistry.Create(name);
        Assert.Equal(expected, model.ParameterCount());
        Assert.Equal(name, model.ModelName);
    }

    [Fact]
    public void Every_registered_model_is_checked_against_the_official_table()
    {
        var names = OfficialParams().Select(row => (string)row[0]).ToHashSet();
        Assert.Equal(names.Order(), ModelRegistry.ImageNet.Select(m => m.Name).Order());
    }

    [Fact]
    public void Macs_are_within_three_percent_of_the_official_table()
    {
        // model_zoo.json holds the official figures (and the official URLs) independently of the registry.
        var zoo = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(Path.Combine("reference", "model_zoo.json"))));
        var checkedModels = 0;
        foreach (var entry in zoo.RootElement.GetProperty("models").EnumerateArray())
        {
            var name = entry.GetProperty("name").GetString()!;
            var info = ModelRegistry.Get(name);
            Assert.Equal(entry.GetProperty("weights_url").GetString(), info.Pretrained.FirstOrDefault()?.Url);
            if (entry.GetProperty("gmacs").ValueKind != JsonValueKind.Number)
            {
                continue;
            }

            using var model = info.Create();
            var gmacs = ModelProfiler.Profile(model).GMacs;
            var official = entry.GetProperty("gmacs").GetDouble();
            Assert.True(Math.Abs(gmacs - official) / official <= 0.03, $"{name}: {gmacs:F3} GMACs against the official {official}");
            checkedModels++;
        }

        Assert.Equal(11, checkedModels);
    }

    [Theory]
    [InlineData("res2net50", "res2net50_26w_4s")]
    [InlineData("res2net50d", "res2net50_v1b_26w_4s")]
    [InlineData("RES2NET101_V1B", "res2net101_v1b_26w_4s")]
    [InlineData("res2net101d", "res2net101_v1b_26w_4s")]
    [InlineData("dla60_res2next", "res2next_dla60")]
    public void Aliases_resolve(string alias, string name) => Assert.Equal(name, ModelRegistry.Get(alias).Name);

    [Fact]
    public void Unknown_names_suggest_close_ones()
    {
        var e = Assert.Throws<UnknownModelException>(() => ModelRegistry.Get("res2net50_26w4s"));
        Assert.Contains("res2net50_26w_4s", e.Message);
    }

    [Theory]
    [InlineData("res2net50_26w_4s", "layer1.0.convs.2.weight", new long[] { 26, 26, 3, 3 })]
    [InlineData("res2net50_26w_4s", "layer2.0.downsample.1.weight", new long[] { 512 })]
    [InlineData("res2net50_26w_4s", "bn1.num_batches_tracked", new long[0])]
    [InlineData("res2net50_v1b_26w_4s", "conv1.6.weight", new long[] { 64, 32, 3, 3 })]
    [InlineData("res2net50_v1b_26w_4s", "layer2.0.downsample.1.weight", new long[] { 512, 256, 1, 1 })]
    [InlineData("res2next50", "layer1.0.convs.0.weight", new long[] { 32, 4, 3, 3 })]
    [InlineData("res2net_dla60", "level3.tree1.root.conv.weight", new long[] { 256, 512, 1, 1 })]
    [InlineData("res2next_dla60", "level5.tree1.convs.0.weight", new long[] { 256, 32, 3, 3 })]
    [InlineData("res2net_dla60", "fc.weight", new long[] { 1000, 1024, 1, 1 })]
    public void Keys_and_shapes_follow_the_official_code(string model, string key, long[] shape)
    {
        using var m = ModelRegistry.Create(model);
        var entry = ModelWeights.StateDict(m).Single(e => e.Key == key);
        Assert.Equal(shape, entry.Value.shape);
    }

    [Theory]
    [InlineData(16, new long[] { 2, 2048, 4, 4 })]
    [InlineData(8, new long[] { 2, 2048, 8, 8 })]
    [InlineData(32, new long[] { 2, 2048, 2, 2 })]
    public void Output_stride_dilates_the_last_stages(int outputStride, long[] c5)
    {
        using var model = new Res2NetConfig { Layers = [1, 1, 1, 1], OutputStride = outputStride }.Build();
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var stages = model.ForwardStages(randn(2, 3, 64, 64));
        Assert.Equal(c5, stages[3].shape);
        Assert.Equal(64 / outputStride, 64 / (int)model.Stages[3].Reduction);
    }

    [Fact]
    public void Grayscale_and_class_count_options_build_a_working_model()
    {
        using var model = ModelRegistry.Create("res2net50_26w_4s", numClasses: 7, inChannels: 1);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Assert.Equal(new long[] { 2, 7 }, model.call(randn(2, 1, 64, 64)).shape);
        model.ResetClassifier(0);
        Assert.Equal(new long[] { 2, 2048 }, model.call(randn(2, 1, 64, 64)).shape);
        Assert.DoesNotContain(ModelWeights.StateDict(model), e => e.Key.StartsWith("fc.", StringComparison.Ordinal));
    }
}

/// <summary>The published weights as data apart from the architectures: address, hash, size bound, license.</summary>
public class PretrainedConfigTests
{
    [Fact]
    public void Every_published_weight_set_has_its_address_hash_size_bound_and_license_from_the_official_table()
    {
        var zoo = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(Path.Combine("reference", "model_zoo.json"))));
        var published = zoo.RootElement.GetProperty("models").EnumerateArray().Where(e => e.GetProperty("weights_url").ValueKind == JsonValueKind.String).ToList();
        Assert.Equal(published.Count, ModelRegistry.All.Sum(m => m.Pretrained.Count));
        foreach (var entry in published)
        {
            var info = ModelRegistry.Get(entry.GetProperty("name").GetString()!);
            var weights = Assert.Single(info.Pretrained);
            var url = entry.GetProperty("weights_url").GetString()!;
            Assert.Equal((url, $"{info.Name}.in1k"), (weights.Url, weights.Name));

            // torch.hub's rule: the hex digits after the file name's last '-' start the file's SHA-256.
            var stem = Path.GetFileNameWithoutExtension(url);
            Assert.Equal(stem[(stem.LastIndexOf('-') + 1)..], weights.Sha256Prefix);
            Assert.Equal(entry.GetProperty("imagenet_top1_error").GetDouble(), weights.Top1Error);
            Assert.Equal(1000, weights.NumClasses);
            Assert.Equal(("CC-BY-NC-SA-4.0", "https://github.com/Res2Net/Res2Net-PretrainedModels"), (weights.License, weights.LicenseUrl));

            // The size bound: the architecture's float32 tensors (at least 4 bytes a parameter) and a few megabytes of container.
            var parameters = (long)(entry.GetProperty("params_millions").GetDouble() * 1e6);
            Assert.InRange(weights.MaxBytes, 4 * parameters, (4.2 * parameters) + Limits.DownloadOverheadBytes);
        }
    }

    [Fact]
    public async Task Weights_made_from_published_ones_carry_their_name_and_license_and_fine_tuning_keeps_them()
    {
        var (info, weights) = ModelRegistry.GetPretrained("res2net50_v1b_26w_4s");
        var metadata = info.MetadataOf(weights);
        Assert.Equal(("res2net50_v1b_26w_4s.in1k", "CC-BY-NC-SA-4.0"), (metadata.Pretrained, metadata.License));
        Assert.Equal(metadata, ModelMetadata.FromJson(metadata.ToJson(), "test"));
        Assert.Null(info.DefaultMetadata().License);

        // A checkpoint that records them (as every file written from such weights does) keeps them through fine-tuning.
        using var dir = new TempDir();
        using (var model = ModelRegistry.Create("res2net_cifar_tiny"))
        {
            model.Describe(model.Metadata with { Pretrained = "res2net_cifar_tiny.test", License = "CC-BY-NC-SA-4.0" });
            model.Save(dir.File("a.pth"));
        }

        using var tuned = await Res2NetBackbone.CreateAsync(Res2Net.Engines.ModelSource.Checkpoint(dir.File("a.pth")), new BackboneOptions { NumClasses = 4 });
        Assert.Equal(("res2net_cifar_tiny.test", "CC-BY-NC-SA-4.0"), (tuned.Metadata.Pretrained, tuned.Metadata.License));
        tuned.Save(dir.File("b.safetensors"));
        Assert.Equal("CC-BY-NC-SA-4.0", ModelCheckpoint.Read(dir.File("b.safetensors")).Metadata.License);
    }

    [Fact]
    public void A_file_without_metadata_is_known_as_published_weights_by_its_hash_alone()
    {
        using var dir = new TempDir();
        var file = dir.File("renamed.pth");
        using (var model = ModelRegistry.Create("res2net_cifar_tiny"))
        {
            // No metadata (as the official .pth files): written as a plain state dict.
            CheckpointFile.Write(file, ModelWeights.StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.ToTensorData())));
        }

        var hash = Res2Net.IO.FileHashes.Sha256(file);
        var published = new PretrainedConfig
        {
            Model = "res2net_cifar_tiny",
            Tag = "test",
            Url = "https://example.org/x.pth",
            Sha256Prefix = hash[..8],
            Preprocess = Res2Net.Imaging.PreprocessConfig.ImageNet,
            ClassNames = [],
            License = "CC-BY-NC-SA-4.0",
            LicenseTerms = "test",
            LicenseUrl = "https://example.org",
        };
        var other = published with { Sha256Prefix = hash[..7] + (hash[7] == '0' ? '1' : '0') };
        Assert.Same(published, ModelCheckpoint.Published(file, [other, published]));
        Assert.Null(ModelCheckpoint.Published(file, [other]));
    }

    [Theory]
    [InlineData("res2net50_26w_4s", 32)]
    [InlineData("res2net50_26w_4s", 16)]
    [InlineData("res2net50_v1b_26w_4s", 8)]
    [InlineData("res2net_small", 8)]
    [InlineData("res2net_small", 4)]
    [InlineData("res2next29_6cx24wx4s", 4)]
    [InlineData("res2net_dla60", 32)]
    public void The_output_stride_a_model_is_built_with_is_the_one_its_metadata_and_its_last_stage_say(string name, int outputStride)
    {
        using var model = ModelRegistry.Create(name, outputStride: outputStride);
        Assert.Equal(outputStride, model.Stages[^1].Reduction);
        Assert.Equal(outputStride, model.Config.OutputStride);
        Assert.Equal(outputStride, model.Metadata.OutputStride);
        Assert.Equal(outputStride, ModelRegistry.Get(name).Configure(outputStride: outputStride).OutputStride);
    }
}
