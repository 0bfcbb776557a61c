using Res2Net.Imaging;

namespace Res2Net.Models;

/// <summary>
/// Every named model, as data: the official repository's and timm's names map to configurations of the one
/// implementation (a <see cref="Res2NetConfig"/> or a <see cref="DlaConfig"/>); the Res2Net package builds them.
/// </summary>
public static class ModelRegistry
{
    private static readonly Res2NetConfig R50 = new() { Layers = [3, 4, 6, 3] };
    private static readonly Res2NetConfig R101 = new() { Layers = [3, 4, 23, 3] };
    private static readonly Res2NetConfig V1b = new() { Stem = StemType.Deep, AvgDown = true };

    // The published ImageNet models; SmallImageModels adds the CIFAR-style family for 28-32 pixel images.
    private static readonly ModelInfo[] ImageNetModels =
    [
        Published("res2net50_26w_4s", ["res2net50"], "Res2Net-50, 26w x 4s", R50,
            "res2net50_26w_4s-06e79181.pth", 25_699_120, 4.2, 22.01, 6.15),
        Published("res2net50_48w_2s", [], "Res2Net-50, 48w x 2s", R50 with { BaseWidth = 48, Scale = 2 },
            "res2net50_48w_2s-afed724a.pth", 25_287_304, 4.2, 22.68, 6.47),
        Published("res2net50_14w_8s", [], "Res2Net-50, 14w x 8s", R50 with { BaseWidth = 14, Scale = 8 },
            "res2net50_14w_8s-6527dddc.pth", 25_059_816, 4.2, 21.86, 6.14),
        Published("res2net50_26w_6s", [], "Res2Net-50, 26w x 6s", R50 with { Scale = 6 },
            "res2net50_26w_6s-19041792.pth", 37_051_448, 6.3, 21.42, 5.87),
        Published("res2net50_26w_8s", [], "Res2Net-50, 26w x 8s", R50 with { Scale = 8 },
            "res2net50_26w_8s-2c7c9f12.pth", 48_403_776, 8.3, 20.8, 5.63),
        Published("res2net101_26w_4s", [], "Res2Net-101, 26w x 4s", R101,
            "res2net101_26w_4s-02a759a1.pth", 45_206_688, 8.1, 20.81, 5.57),
        Published("res2next50", [], "Res2NeXt-50, 4w x 8c x 4s", R50 with { BaseWidth = 4, Cardinality = 8 },
            "res2next50_4s-6ef7e7bf.pth", 24_671_464, 4.2, 21.76, 6.09),
        Published("res2net50_v1b_26w_4s", ["res2net50_v1b", "res2net50d"], "Res2Net-50 v1b (deep stem, avg-pool shortcut), 26w x 4s", V1b,
            "res2net50_v1b_26w_4s-3cf99910.pth", 25_718_352, 4.5, 19.73, 4.96),
        Published("res2net101_v1b_26w_4s", ["res2net101_v1b", "res2net101d"], "Res2Net-101 v1b, 26w x 4s", V1b with { Layers = [3, 4, 23, 3] },
            "res2net101_v1b_26w_4s-0812c246.pth", 45_225_920, 8.3, 18.77, 4.64),
        Published("res2net152_v1b_26w_4s", [], "Res2Net-152 v1b, 26w x 4s (no published weights)", V1b with { Layers = [3, 8, 36, 3] },
            null, 61_294_480, null, null, null),
        Published("res2net_dla60", ["dla60_res2net"], "Res2Net-DLA-60", new DlaConfig { Block = DlaBlock.Res2Net },
            "res2net_dla60_4s-d88db7f9.pth", 21_145_544, 4.2, 21.53, 5.8),
        Published("res2next_dla60", ["dla60_res2next"], "Res2NeXt-DLA-60", new DlaConfig { Block = DlaBlock.Res2NeXt, Cardinality = 8 },
            "res2next_dla60_4s-d327927b.pth", 17_330_456, 3.6, 21.55, 5.86),
    ];

    private static readonly ModelInfo[] Models = [.. ImageNetModels, .. SmallImageModels.All];

    private static readonly Dictionary<string, ModelInfo> ByName = BuildIndex();

    /// <summary>The name `res2net train` uses when none is given: the small-image Res2Net that trains in minutes on two cores.</summary>
    public static string DefaultTrainingModel => SmallImageModels.DefaultName;

    /// <summary>Every registered model, in table order.</summary>
    public static IReadOnlyList<ModelInfo> All => Models;

    /// <summary>The models of the official ImageNet table.</summary>
    public static IReadOnlyList<ModelInfo> ImageNet => ImageNetModels;

    /// <summary>Finds a model by name or alias (case-insensitive).</summary>
    public static bool TryGet(string name, out ModelInfo info) => ByName.TryGetValue(name, out info!);

    /// <summary>Finds a model by name or alias, or throws with the closest names.</summary>
    public static ModelInfo Get(string name)
    {
        if (TryGet(name, out var info))
        {
            return info;
        }

        var close = ByName.Keys.OrderBy(k => Distance(k, name.ToLowerInvariant())).Take(3).ToArray();
        throw new UnknownModelException(name, close);
    }

    /// <summary>Where the official weights are published.</summary>
    internal const string OfficialBaseUrl = "https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/";

    /// <summary>An official ImageNet-1k model; <paramref name="file"/> is its published file, named <c>stem-SHA256PREFIX.pth</c> as torch.hub expects.</summary>
    private static ModelInfo Published(string name, string[] aliases, string description, ModelConfig config,
        string? file, long? parameters, double? gmacs, double? top1, double? top5)
    {
        var stem = Path.GetFileNameWithoutExtension(file);
        PretrainedConfig[] pretrained = file is null || stem is null ? [] :
        [
            new PretrainedConfig
            {
                Model = name,
                Tag = "in1k",
                Url = OfficialBaseUrl + file,
                Sha256Prefix = stem[(stem.LastIndexOf('-') + 1)..],
                Preprocess = PreprocessConfig.ImageNet,
                ClassNames = ImageNetLabels.All,
                Top1Error = top1,
                Top5Error = top5,
                License = "CC-BY-NC-SA-4.0",
                LicenseTerms = "non-commercial use only; commercial use needs the authors' permission",
                LicenseUrl = "https://github.com/Res2Net/Res2Net-PretrainedModels",
            },
        ];
        return new(name, aliases, description, config, PreprocessConfig.ImageNet, pretrained, new OfficialFigures(parameters, gmacs));
    }

    /// <summary>
    /// Finds published weights by <c>model.tag</c> (<c>res2net50_26w_4s.in1k</c>), or a model's default weights by its
    /// name or alias alone.
    /// </summary>
    /// <exception cref="UnknownModelException">No such model, or it has no (such) published weights.</exception>
    public static (ModelInfo Model, PretrainedConfig Weights) GetPretrained(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var dot = name.LastIndexOf('.');
        if (!TryGet(name, out var info) && dot > 0 && TryGet(name[..dot], out var tagged))
        {
            return (tagged, tagged.GetPretrained(name[(dot + 1)..]));
        }

        info = Get(name);
        return (info, info.GetPretrained());
    }

    private static Dictionary<string, ModelInfo> BuildIndex()
    {
        var index = new Dictionary<string, ModelInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var m in Models)
        {
            foreach (var n in m.Aliases.Prepend(m.Name))
            {
                index.Add(n, m);
            }
        }

        return index;
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }

        return d[a.Length, b.Length];
    }
}
