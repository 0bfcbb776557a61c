using System.Runtime.InteropServices;
using System.Text;
using Res2Net.Caching;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Models;
using Res2Net.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.Models;

/// <summary>
/// The registered full-size models at output strides 8, 16 and 32 against timm's own features_only models with the
/// same deterministic weights (tests/fixtures/timm-full: statistics of timm's outputs, the weight formula in its README).
/// </summary>
public class TimmFullSizeTests
{
    /// <summary>Our registered name and timm's.</summary>
    public static TheoryData<string, string> Models() => new()
    {
        { "res2net50_26w_4s", "res2net50_26w_4s" },
        { "res2net50_v1b_26w_4s", "res2net50d" },
        { "res2next50", "res2next50" },
        { "res2net50_14w_8s", "res2net50_14w_8s" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void The_formula_gives_timms_tensors_under_the_same_keys(string ours, string timm)
    {
        var stats = Stats(timm);
        using var model = ModelRegistry.Create(ours);
        FormulaWeights.Fill(model);
        var entries = ModelWeights.StateDict(model);
        var keys = Encoding.UTF8.GetString(stats["state_dict.keys"].Data).Split('\n');
        Assert.Equal(keys, entries.Select(e => e.Key));
        var sums = Doubles(stats["state_dict.sum"]);
        for (var i = 0; i < entries.Count; i++)
        {
            var sum = entries[i].Value.to_type(ScalarType.Float64).sum().item<double>();
            Assert.True(Math.Abs(sum - sums[i]) <= 1e-9 * Math.Max(1, Math.Abs(sums[i])) + 1e-9, $"{keys[i]}: sum {sum} != {sums[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Stages_at_every_output_stride_equal_timm_in_the_training_path_and_the_inference_plan(string ours, string timm)
    {
        var stats = Stats(timm);
        var report = new List<string>();
        foreach (var stride in new[] { 8, 16, 32 })
        {
            using var model = ModelRegistry.Create(ours, outputStride: stride);
            FormulaWeights.Fill(model);
            model.eval();
            foreach (var input in Inputs)
            {
                using var scope = NewDisposeScope();
                using (no_grad())
                {
                    report.AddRange(CompareStages(stats, $"os{stride}.{input.Key}", model.ForwardStages(input.Value()), "training"));
                    if (stride == 32)
                    {
                        report.Add(CompareLogits(stats, input.Key, model.call(input.Value())));
                    }
                }
            }

            model.PrepareInference();
            foreach (var input in Inputs)
            {
                using var scope = NewDisposeScope();
                using var mode = inference_mode();
                report.AddRange(CompareStages(stats, $"os{stride}.{input.Key}", model.ForwardStages(input.Value()), "plan"));
            }
        }

        var failures = report.Where(r => !r.EndsWith("ok", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, $"{ours}: {string.Join("; ", failures)}");
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void The_v1b_onnx_export_with_dynamic_size_equals_timm(int stride)
    {
        var stats = Stats("res2net50d");
        using var model = ModelRegistry.Create("res2net50_v1b_26w_4s", outputStride: stride);
        FormulaWeights.Fill(model);
        model.eval();
        using var engine = OnnxExportCache.InMemory(model, new ModelOptions { Threads = 2 }, new OnnxExportOptions { Stages = true });
        var report = new List<string>();
        foreach (var input in Inputs)
        {
            using var scope = NewDisposeScope();
            var x = input.Value();
            report.AddRange(CompareStages(stats, $"os{stride}.{input.Key}", Enumerable.Range(0, 4).Select(s => engine.Features(x, FeatureStage.C2 + s)).ToArray(), "onnx"));
        }

        var failures = report.Where(r => !r.EndsWith("ok", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    [Fact]
    public void The_formula_port_reproduces_the_published_self_check_values()
    {
        Assert.Equal(0xaf63dc4c8601ec8cUL, FormulaWeights.Fnv1a64("a"));
        Assert.Equal(0x69a29a2cee47d254UL, FormulaWeights.Fnv1a64("conv1.weight"));
        uint[] conv1 = [0x3c953384, 0xbe2fec8b, 0x3e3e5633, 0x3e0e33ea, 0x3d9f43be];
        uint[] fcBias = [0xba81751c, 0xbc46d0f1, 0xb68e050f, 0xbc356623, 0xbc17d982];
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(conv1[i], BitConverter.SingleToUInt32Bits(FormulaWeights.Value("conv1.weight", [64, 3, 7, 7], i)));
            Assert.Equal(fcBias[i], BitConverter.SingleToUInt32Bits(FormulaWeights.Value("fc.bias", [1000], i)));
        }
    }

    private static readonly KeyValuePair<string, Func<Tensor>>[] Inputs =
    [
        KeyValuePair.Create("in75x107", (Func<Tensor>)(() => Npy.Read(TestPaths.Fixture("timm/input_1x3x75x107.npy")).ToTensor())),
        KeyValuePair.Create("in32x45", (Func<Tensor>)(() => Npy.Read(TestPaths.Fixture("timm-full/input_1x3x32x45.npy")).ToTensor())),
    ];

    private static Dictionary<string, TensorData> Stats(string timm) =>
        Npz.Read(TestPaths.Fixture($"timm-full/{timm}.stats.npz")).ToDictionary(e => e.Key, e => e.Value);

    private static double[] Doubles(TensorData t) => MemoryMarshal.Cast<byte, double>(t.Data).ToArray();

    private static long[] Longs(TensorData t) => MemoryMarshal.Cast<byte, long>(t.Data).ToArray();

    private static IEnumerable<string> CompareStages(Dictionary<string, TensorData> stats, string prefix, IReadOnlyList<Tensor> stages, string path)
    {
        for (var s = 0; s < 4; s++)
        {
            var key = $"{prefix}.c{s + 2}";
            var output = stages[s];
            var shape = Longs(stats[key + ".shape"]);
            if (!shape.SequenceEqual(output.shape))
            {
                yield return $"{path} {key} shape [{string.Join(", ", output.shape)}] != [{string.Join(", ", shape)}]";
                continue;
            }

            var means = output.to_type(ScalarType.Float64).mean([0, 2, 3]).data<double>().ToArray();
            var absmax = output.abs().amax([0, 2, 3]).data<float>().ToArray();
            var flat = output.contiguous().flatten().data<float>().ToArray();
            var samples = Enumerable.Range(1, 64).Select(k => flat[(int)(k * 2654435761L % flat.Length)]).ToArray();
            var worst = new[]
            {
                Worst(Doubles(stats[key + ".chan_mean"]), means),
                Worst(stats[key + ".chan_absmax"].ToFloatArray().Select(v => (double)v).ToArray(), absmax.Select(v => (double)v).ToArray()),
                Worst(stats[key + ".samples"].ToFloatArray().Select(v => (double)v).ToArray(), samples.Select(v => (double)v).ToArray()),
            }.Max();
            yield return worst <= 1 ? $"{path} {key} ok" : $"{path} {key} off by {worst:F1}x the tolerance";
        }
    }

    private static string CompareLogits(Dictionary<string, TensorData> stats, string input, Tensor logits)
    {
        var expected = stats[$"logits.{input}"].ToFloatArray().Select(v => (double)v).ToArray();
        var worst = Worst(expected, logits.data<float>().Select(v => (double)v).ToArray());
        return worst <= 1 ? $"logits {input} ok" : $"logits {input} off by {worst:F1}x the tolerance";
    }

    /// <summary>The largest difference in units of the tolerance, 1e-4 plus 1e-5 of the value (float32 through 16 blocks).</summary>
    private static double Worst(double[] expected, double[] actual) =>
        expected.Length != actual.Length ? double.PositiveInfinity
        : expected.Zip(actual, (e, a) => Math.Abs(e - a) / (1e-4 + 1e-5 * Math.Abs(e))).DefaultIfEmpty(0).Max();

    /// <summary>The weight formula of tests/fixtures/timm-full/README.md, ported literally.</summary>
    internal static class FormulaWeights
    {
        public static ulong Fnv1a64(string key)
        {
            var h = 0xcbf29ce484222325UL;
            foreach (var b in Encoding.UTF8.GetBytes(key))
            {
                h ^= b;
                h = unchecked(h * 0x100000001b3UL);
            }

            return h;
        }

        public static float Value(string key, long[] shape, long i) => Value(key, shape, Fnv1a64(key), i);

        public static float Value(string key, long[] shape, ulong keySeed, long i)
        {
            var u = U01(keySeed, i);
            var last = key[(key.LastIndexOf('.') + 1)..];
            double v;
            if (shape.Length == 4)
            {
                var fanIn = shape[1] * shape[2] * shape[3];
                v = (2.0 * u - 1.0) * Math.Sqrt(6.0 / fanIn);
            }
            else if (key.StartsWith("fc.", StringComparison.Ordinal))
            {
                v = (2.0 * u - 1.0) * Math.Sqrt(1.0 / 2048);
            }
            else if (last == "weight")
            {
                v = key.EndsWith(".bn3.weight", StringComparison.Ordinal) ? 0.125 + 0.25 * u : 0.5 + 0.5 * u;
            }
            else if (last is "bias" or "running_mean")
            {
                v = 0.1 * (2.0 * u - 1.0);
            }
            else if (last == "running_var")
            {
                v = 0.5 + u;
            }
            else
            {
                throw new KeyNotFoundException(key);
            }

            return (float)v;
        }

        /// <summary>Every tensor of the model from the formula (num_batches_tracked: 0).</summary>
        public static void Fill(Res2NetBackbone model)
        {
            using var noGrad = no_grad();
            foreach (var (key, target) in ModelWeights.StateDict(model))
            {
                if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                {
                    target.zero_();
                    continue;
                }

                var values = new float[target.numel()];
                var seed = Fnv1a64(key);
                var shape = target.shape;
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = Value(key, shape, seed, i);
                }

                using var source = tensor(values, shape);
                target.copy_(source);
            }

            model.RefreshInference();
        }

        private static double U01(ulong keySeed, long i)
        {
            unchecked
            {
                var z = keySeed + (ulong)i;
                z += 0x9e3779b97f4a7c15UL;
                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
                z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
                z ^= z >> 31;
                return (z >> 11) * (1.0 / 9007199254740992.0);
            }
        }
    }
}
