using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Res2Net.Models;

/// <summary>
/// Counts multiply-accumulates of convolutions and linear layers (the convention of the official table) by running
/// one forward pass with hooks, so the count follows the code that actually runs.
/// </summary>
public static class ModelProfiler
{
    /// <summary>
    /// <see cref="Profile(Res2NetBackbone, int, int)"/> of a registered model, with another output stride.
    /// </summary>
    /// <param name="info">The registered model.</param>
    /// <param name="height">Input height in pixels.</param>
    /// <param name="width">Input width in pixels.</param>
    /// <param name="outputStride">8, 16 or 32 for the ImageNet ResNet-style models; null: the model's own.</param>
    public static ModelProfile Profile(ModelInfo info, int height = 224, int width = 224, int? outputStride = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        TorchRuntime.Initialize();
        using var model = info.Create(outputStride: outputStride);
        return Profile(model, height, width);
    }

    /// <summary>
    /// Parameters and multiply-accumulates of every part of <paramref name="model"/> at one input size, from one forward
    /// pass over an empty batch: LibTorch works out every shape without computing anything, so any size costs the same.
    /// </summary>
    public static ModelProfile Profile(Res2NetBackbone model, int height = 224, int width = 224)
    {
        TorchRuntime.Initialize();
        var partOf = PartNames(model);
        var macs = new Dictionary<string, long>();
        var removers = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            var part = partOf(name);
            switch (module)
            {
                case Conv2dLayer conv:
                    var hc = conv.register_forward_hook((_, _, output) =>
                    {
                        var w = conv.Weight.shape; // (out, in / groups, kh, kw)
                        Add(macs, part, PerImage(output) * w[1] * w[2] * w[3]);
                        return output;
                    });
                    removers.Add(hc.remove);
                    break;
                case Linear linear:
                    var hl = linear.register_forward_hook((_, _, output) =>
                    {
                        Add(macs, part, PerImage(output) * linear.weight!.shape[1]);
                        return output;
                    });
                    removers.Add(hl.remove);
                    break;
            }
        }

        var wasTraining = model.training;
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = zeros(0, model.Config.InChannels, height, width);
            var stageOutputs = model.ForwardStages(input);
            var logits = model.ForwardHead(stageOutputs[^1]);

            var parameters = model.named_parameters().ToList();
            long ParamsOf(string part) => parameters.Where(p => partOf(p.name) == part).Sum(p => p.parameter.numel());

            var parts = new List<PartProfile>
            {
                new("stem", string.Join(", ", TopLevel(model).Where(n => partOf(n) == "stem")), [], ParamsOf("stem"), macs.GetValueOrDefault("stem")),
            };
            for (var i = 0; i < model.Stages.Count; i++)
            {
                var s = model.Stages[i];
                parts.Add(new(s.Name, s.ModuleName, OneImage(stageOutputs[i]), ParamsOf(s.Name), macs.GetValueOrDefault(s.Name)));
            }

            parts.Add(new("head", "pool, fc", OneImage(logits), ParamsOf("head"), macs.GetValueOrDefault("head")));
            return new ModelProfile(height, width, parts.Sum(p => p.Params), parts.Sum(p => p.Macs), parts, model.Stages);
        }
        finally
        {
            foreach (var r in removers)
            {
                r();
            }

            model.train(wasTraining);
        }
    }

    private static void Add(Dictionary<string, long> macs, string part, long value) =>
        macs[part] = macs.GetValueOrDefault(part) + value;

    private static IEnumerable<string> TopLevel(Res2NetBackbone model) => model.named_children().Select(c => c.name);

    /// <summary>Maps a parameter or module name to stem, a stage name (c2..c5) or head.</summary>
    private static Func<string, string> PartNames(Res2NetBackbone model)
    {
        var stageByModule = model.Stages.ToDictionary(s => s.ModuleName, s => s.Name);
        return name =>
        {
            var top = name.Split('.')[0];
            if (stageByModule.TryGetValue(top, out var stage))
            {
                return stage;
            }

            return top == "fc" ? "head" : "stem";
        };
    }

    /// <summary>Elements of one image's output (the batch profiled is empty).</summary>
    private static long PerImage(Tensor output) => output.shape.Skip(1).Aggregate(1L, (a, d) => a * d);

    /// <summary>The output's shape for a batch of one.</summary>
    private static long[] OneImage(Tensor output) => [1, .. output.shape.Skip(1)];
}
