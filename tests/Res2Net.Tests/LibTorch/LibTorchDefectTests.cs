using System.Diagnostics;
using Res2Net.LibTorch;
using Res2Net.Models;
using Res2Net.Tests.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests.LibTorch;

/// <summary>
/// Canaries: each runs one of <see cref="LibTorchDefects"/> unprotected and compares what LibTorch does with what was
/// recorded for this CPU. The defects depend on the kernels oneDNN picks for a CPU: on a CPU where a defect was seen,
/// the canary fails once LibTorch gets it right (the workaround it names can go); on one where it was not, it fails
/// if the defect appears (the table needs the CPU, the workaround already protects the results); on a CPU not in the
/// table it reports what it saw. The workarounds' own correctness is tested with the models (ConvolutionWorkaroundTests,
/// TrainingGradientTests, InferencePlanTests).
/// </summary>
[Collection(nameof(GlobalTorchState))]
public class LibTorchDefectTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>CPUs as /proc/cpuinfo names them: vendor, family, model.</summary>
    private const string Zen4 = "AuthenticAMD family 25 model 17", Zen5 = "AuthenticAMD family 26 model 2";

    /// <summary>
    /// Where each defect was seen and where it was not (docs/libtorch-defects.md has the history). The sessions that
    /// found the defects did not record their CPU; on AMD Zen 4 and Zen 5, with the same LibTorch, none of them shows (on
    /// Zen 5 neither with oneDNN held to its AVX2 kernels, ONEDNN_MAX_CPU_ISA=AVX2, 2026-12-08).
    /// </summary>
    private static readonly Dictionary<int, (string[] Seen, string[] NotSeen)> Observed = new()
    {
        [1] = ([], [Zen4, Zen5]),
        [2] = ([], [Zen4, Zen5]),
        [3] = ([], [Zen4, Zen5]),
        [4] = ([], [Zen4, Zen5]),
        [5] = ([], [Zen4, Zen5]),
        [6] = ([], [Zen4, Zen5]),
        [7] = ([], [Zen4, Zen5]),
    };

    private static readonly string Cpu = CpuIdentity();

    private void Expect(int defect, bool shows, string workaround, string detail = "")
    {
        output.WriteLine($"defect {defect} on {Cpu}: {(shows ? "shows" : "does not show")} ({detail})");
        var (seen, notSeen) = Observed[defect];
        if (seen.Contains(Cpu))
        {
            Assert.True(shows, $"LibTorch no longer shows defect {defect} of LibTorchDefects on {Cpu}: {workaround} can go (if no other CPU in the table still shows it).");
        }
        else if (notSeen.Contains(Cpu))
        {
            Assert.False(shows, $"Defect {defect} of LibTorchDefects now shows on {Cpu}, where it did not: {workaround} protects the results; record the CPU as seen.");
        }
    }

    [Fact]
    public void Defect_1_wrong_3x3_convolutions_of_17_to_31_channels()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(7);
        var x = randn(2, 26, 56, 56);
        var w = randn(26, 26, 3, 3);
        var oneDnn = nn.functional.conv2d(x, w, null, padding: [1, 1]);
        var reference = GlobalTorchState.WithOneDnn(false, () => nn.functional.conv2d(x, w, null, padding: [1, 1]));
        var error = ((oneDnn - reference).abs().max() / reference.abs().max()).item<float>();
        Expect(1, error > 1e-3, "LibTorchDefects.ChannelPadding (and the padded groups of the inference plan)", $"relative error {error:G3}");
    }

    [Fact]
    public void Defect_2_strided_pointwise_backward_kills_the_process()
    {
        var (exit, _) = RunCanary("strided-pointwise-backward");
        Expect(2, exit != 0, "the strided 1x1 branch of LibTorchDefects.Convolve");
    }

    [Fact]
    public void Defect_3_wrong_input_gradients_of_strided_grouped_convolutions()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var x = randn(8, 288, 32, 32).requires_grad_();
        var w = randn(288, 48, 3, 3);
        var upstream = randn(8, 288, 16, 16);
        Tensor Grad(bool oneDnn) => GlobalTorchState.WithOneDnn(oneDnn, () =>
        {
            x.grad?.zero_();
            (nn.functional.conv2d(x, w, null, [2, 2], [1, 1], groups: 6) * upstream).sum().backward();
            return x.grad!.clone();
        });

        var (actual, reference) = (Grad(true), Grad(false));
        var error = ((actual - reference).abs().max() / reference.abs().max()).item<float>();
        Expect(3, error > 1e-3, "the strided grouped branch of LibTorchDefects.Convolve", $"relative error {error:G3}");
    }

    [Fact]
    public void Defect_4_wrong_convolutions_of_channel_slices()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(5);
        var y = randn(4, 104, 56, 56);
        var w = randn(26, 26, 3, 3);
        var slice = y.split(26, 1)[1];
        var onView = nn.functional.conv2d(slice, w, null, padding: [1, 1]);
        var onCopy = GlobalTorchState.WithOneDnn(false, () => nn.functional.conv2d(slice.contiguous(), w, null, padding: [1, 1]));
        var error = ((onView - onCopy).abs().max() / onCopy.abs().max()).item<float>();
        Expect(4, error > 1e-3, "LibTorchDefects.ContiguousForConvolution", $"relative error {error:G3}");
    }

    [Fact]
    public void Defect_5_channels_last_pointwise_convolutions_kill_the_process()
    {
        var (exit, _) = RunCanary("channels-last-pointwise");
        Expect(5, exit != 0, "keeping convolutions NCHW (LibTorchDefects.ChannelsLastForPooling only for pools)");
    }

    [Fact]
    public void Defect_6_nnpack_complains_on_every_call()
    {
        var (exit, stderr) = RunCanary("nnpack");
        Assert.Equal(0, exit);
        Expect(6, stderr.Contains("NNPACK", StringComparison.Ordinal), "turning NNPACK off in TorchRuntime.Initialize");
    }

    [Fact]
    public void Defect_7_training_gradients_of_a_36_channel_bottleneck()
    {
        // The small-image models' channel rule: a plain bottleneck with 36-channel 3x3s against float64.
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new Res2NetConfig
        {
            Stem = StemType.Cifar,
            OutputStride = 4,
            NumClasses = 10,
            InChannels = 1,
            Layers = [1, 2, 2],
            Widths = [16, 32, 64],
            StemWidth = 32,
            CifarStemStride = 2,
            Scale = 1,
            BaseWidth = 144,
        }.Build();
        model.train();
        var x = randn(32, 1, 28, 28);
        var y = randint(10, [32]);
        Dictionary<string, Tensor> Grads(Tensor input)
        {
            foreach (var p in model.parameters())
            {
                p.grad = null;
            }

            nn.functional.cross_entropy(model.call(input), y).backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.to(ScalarType.Float32).clone());
        }

        var oneDnn = Grads(x);
        model.to(ScalarType.Float64);
        var truth = Grads(x.to(ScalarType.Float64));
        var worst = truth.Keys.Max(k => ((oneDnn[k] - truth[k]).norm() / (truth[k].norm() + 1e-12f)).item<float>());
        Expect(7, worst > 2e-2, $"the multiples of {LibTorchDefects.SmallModelChannelMultiple} in the small-image models' channel counts", $"worst relative gradient error {worst:G3}");
    }

    private static string CpuIdentity()
    {
        try
        {
            var lines = File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0).ToList();
            string Field(string name) => lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l[name.Length..].TrimStart().StartsWith(':'))?.Split(':', 2)[1].Trim() ?? "?";
            return $"{Field("vendor_id")} family {Field("cpu family")} model {Field("model")}";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    /// <summary>Runs a canary of CanaryProgram in a child process: its exit code (non-zero when a signal killed it) and stderr.</summary>
    private static (int Exit, string StdErr) RunCanary(string name)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Res2Net.Tests.dll"));
        start.ArgumentList.Add("canary");
        start.ArgumentList.Add(name);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"canary {name} did not finish in 60 s");
        }

        return (process.ExitCode, stderr.Result);
    }
}
