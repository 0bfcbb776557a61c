using System.Text.Json;
using Res2Net.Models;

namespace Res2Net.Tests.Models;

/// <summary>Builds the models described by the fixtures' JSON files (made from the official PyTorch blocks).</summary>
internal static class FixtureModels
{
    public static readonly string[] Names =
    [
        "res2net_tiny_s4", "res2net_tiny_s1", "res2net_tiny_s8", "res2next_tiny", "res2net_v1b_tiny", "res2net_dla_tiny", "res2next_dla_tiny",
    ];

    /// <summary>Every fixture model with both values of a switch (e.g. grouped or split first-block convolutions).</summary>
    public static Xunit.TheoryData<string, bool> NamesWithSwitch()
    {
        var data = new Xunit.TheoryData<string, bool>();
        foreach (var name in Names)
        {
            data.Add(name, true);
            data.Add(name, false);
        }

        return data;
    }

    public static JsonElement Json(string name) =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(name + ".json"))).RootElement;

    public static ModelConfig Config(string name)
    {
        var j = Json(name);
        int[] Ints(string key) => j.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var scale = j.GetProperty("scale").GetInt32();
        var cardinality = j.GetProperty("cardinality").GetInt32();
        var classes = j.GetProperty("num_classes").GetInt32();
        if (j.GetProperty("family").GetString() == "dla")
        {
            return new DlaConfig
            {
                Levels = Ints("levels"),
                Channels = Ints("channels"),
                Block = j.GetProperty("block").GetString() == "res2next" ? DlaBlock.Res2NeXt : DlaBlock.Res2Net,
                BaseWidth = j.TryGetProperty("base_width", out var bw) ? bw.GetInt32() : 28,
                Scale = scale,
                Cardinality = cardinality,
                NumClasses = classes,
            };
        }

        return new Res2NetConfig
        {
            Layers = Ints("layers"),
            Widths = Ints("widths"),
            StemWidth = j.GetProperty("stem_width").GetInt32(),
            BaseWidth = j.GetProperty("base_width").GetInt32(),
            Scale = scale,
            Cardinality = cardinality,
            Stem = j.GetProperty("stem").GetString() == "deep" ? StemType.Deep : StemType.Conv7x7,
            AvgDown = j.GetProperty("avg_down").GetBoolean(),
            NumClasses = classes,
        };
    }
}
