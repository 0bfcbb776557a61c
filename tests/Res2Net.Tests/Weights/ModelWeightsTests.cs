using Res2Net.Models;
using Res2Net.Tests.Models;
using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

/// <summary>Loading checkpoints into models: strict by default, one clear sentence per mismatch, nothing half-loaded.</summary>
public class ModelWeightsTests
{
    [Fact]
    public void Metadata_written_before_the_output_stride_was_recorded_takes_the_registered_models_own()
    {
        // res2net_cifar_tiny has output stride 4; files of earlier versions record no stride at all.
        using var dir = new TempDir();
        var path = dir.File("old.pth");
        using (var model = ModelRegistry.Create("res2net_cifar_tiny", 10, 1))
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(model.Metadata.ToJson())!.AsObject();
            Assert.True(json.Remove("output_stride"));
            CheckpointFile.Write(path, ModelWeights.StateDict(model).Select(e => KeyValuePair.Create(e.Key, e.Value.ToTensorData())), json.ToJsonString());
        }

        var checkpoint = ModelCheckpoint.Read(path);
        Assert.True(checkpoint.MetadataRecorded);
        Assert.Equal(4, checkpoint.OutputStride);
        using var loaded = checkpoint.CreateModel();
        Assert.Equal(4, loaded.Metadata.OutputStride);
    }

    [Fact]
    public void A_checkpoint_of_another_shape_is_refused_with_the_keys_named_and_the_model_untouched()
    {
        using var model = FixtureModels.Config("res2net_tiny_s8").Build();
        var before = ModelWeights.StateDict(model).Select(e => e.Value.clone()).ToList();
        var e = Assert.Throws<WeightsMismatchException>(() => ModelWeights.Load(model, TestPaths.Fixture("res2net_tiny_s4.pth")));
        Assert.StartsWith("res2net_tiny_s4.pth does not fit the model: ", e.Message);
        Assert.Contains("missing key", e.Message);
        Assert.Contains("unexpected key", e.Message);
        Assert.Contains("wrongly shaped (", e.Message);
        Assert.Contains("in the checkpoint but", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var after = ModelWeights.StateDict(model).Select(x => x.Value).ToList();
        Assert.All(before.Zip(after), pair => Assert.True(pair.First.Equals(pair.Second)));
    }

    [Fact]
    public void A_checkpoint_of_another_registered_model_is_named()
    {
        using var dir = new TempDir();
        var path = dir.File("r2n48.safetensors");
        using (var other = ModelRegistry.Create("res2net50_48w_2s"))
        {
            ModelWeights.Save(other, path);
        }

        using var model = ModelRegistry.Create("res2net50_26w_4s");
        var e = Assert.Throws<WeightsMismatchException>(() => ModelWeights.Load(model, path));
        Assert.StartsWith("r2n48.safetensors does not fit res2net50_26w_4s: ", e.Message);
        Assert.EndsWith("; its shapes fit res2net50_48w_2s.", e.Message);
    }

    [Fact]
    public void A_fine_tuned_checkpoint_names_its_class_count_and_loads_with_the_classifier_skipped()
    {
        using var dir = new TempDir();
        var path = dir.File("tuned.pth");
        using (var tuned = ModelRegistry.Create("res2net50_26w_4s", numClasses: 10))
        {
            ModelWeights.Save(tuned, path);
        }

        using var model = ModelRegistry.Create("res2net50_26w_4s");
        var e = Assert.Throws<WeightsMismatchException>(() => ModelWeights.Load(model, path));
        Assert.Contains("fc.weight is [10, 2048] in the checkpoint but [1000, 2048] in the model", e.Message);
        Assert.EndsWith("; its shapes fit res2net50_26w_4s with 10 classes.", e.Message);

        ModelWeights.Load(model, path, new LoadOptions { SkipMismatchedClassifier = true });
        var checkpoint = CheckpointFile.ReadStateDict(path);
        var conv = ModelWeights.StateDict(model).Single(x => x.Key == "layer4.2.conv3.weight").Value;
        Assert.True(conv.Equals(checkpoint["layer4.2.conv3.weight"].ToTensor()));
    }

    [Fact]
    public void Non_strict_loading_accepts_missing_keys()
    {
        using var model = FixtureModels.Config("res2net_tiny_s4").Build();
        var partial = CheckpointFile.ReadStateDict(TestPaths.Fixture("res2net_tiny_s4.pth"))
            .Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal)).ToDictionary();
        Assert.Throws<WeightsMismatchException>(() => ModelWeights.Load(model, partial, "partial"));
        ModelWeights.Load(model, partial, "partial", new LoadOptions { Strict = false });
    }

    [Theory]
    [InlineData(".pth")]
    [InlineData(".safetensors")]
    public void Saved_weights_load_back_bit_identical(string extension)
    {
        using var dir = new TempDir();
        var path = dir.File("model" + extension);
        using var model = FixtureModels.Config("res2net_dla_tiny").Build();
        ModelWeights.Load(model, TestPaths.Fixture("res2net_dla_tiny.legacy.pth"));
        ModelWeights.Save(model, path);

        var original = CheckpointFile.ReadStateDict(TestPaths.Fixture("res2net_dla_tiny.pth"));
        var saved = CheckpointFile.ReadStateDict(path);
        Assert.Equal(original.Keys, saved.Keys);
        foreach (var (key, data) in original)
        {
            Assert.Equal(data.DType, saved[key].DType);
            Assert.Equal(data.Shape, saved[key].Shape);
            Assert.Equal(data.Data, saved[key].Data);
        }
    }
}
