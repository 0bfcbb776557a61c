using Res2Net.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Res2Net.Training;


/// <summary>Parameters updated with the same settings: a learning-rate multiplier and a weight decay.</summary>
internal sealed record ParamGroup(string Name, IReadOnlyList<(string Key, Parameter Param)> Params, double LrScale, double WeightDecay);

/// <summary>
/// SGD and AdamW with torch.optim's arithmetic, written here rather than taken from TorchSharp so that their state
/// (momentum buffers, moment estimates, step count) is plain named tensors: saved into the training checkpoint and
/// restored exactly, which is what makes a resumed run equal to an uninterrupted one.
/// </summary>
internal sealed class Optimizer : IDisposable
{
    private readonly Dictionary<string, Tensor> state = new();

    public Optimizer(OptimizerKind kind, IReadOnlyList<ParamGroup> groups, double momentum = 0.9, bool nesterov = true,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        Kind = kind;
        Groups = groups;
        Momentum = momentum;
        Nesterov = nesterov;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    public OptimizerKind Kind { get; }

    public IReadOnlyList<ParamGroup> Groups { get; }

    public double Momentum { get; }

    public bool Nesterov { get; }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    /// <summary>Updates taken so far (AdamW's bias correction uses it).</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// Splits a model's trainable parameters: weight decay for convolution and linear weights only, none for
    /// batch-norm parameters and biases (1-D tensors), where decay only fights the normalisation; a separate learning
    /// rate multiplier for everything but the classifier (fine-tuning with a lower backbone rate).
    /// </summary>
    public static List<ParamGroup> SplitParameters(nn.Module model, IReadOnlyCollection<string> classifierKeys, double weightDecay, double backboneLrScale)
    {
        var buckets = new Dictionary<(bool Head, bool Decay), List<(string, Parameter)>>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad)
            {
                continue;
            }

            var key = (classifierKeys.Contains(name), p.dim() > 1);
            if (!buckets.TryGetValue(key, out var list))
            {
                buckets[key] = list = [];
            }

            list.Add((name, p));
        }

        return buckets.OrderBy(b => b.Key.Head).ThenByDescending(b => b.Key.Decay)
            .Select(b => new ParamGroup($"{(b.Key.Head ? "head" : "backbone")}{(b.Key.Decay ? "" : "_no_decay")}", b.Value,
                b.Key.Head ? 1.0 : backboneLrScale, b.Key.Decay ? weightDecay : 0))
            .ToList();
    }

    /// <summary>
    /// Whether every gradient is finite. LibTorch 2.10's CPU backward now and then returns NaN input gradients for
    /// 3x3 convolutions on small CIFAR-style maps while the loss is finite; such a step is skipped rather than applied,
    /// since one NaN update poisons every weight.
    /// </summary>
    public bool GradientsFinite()
    {
        using var scope = NewDisposeScope();
        var sums = new List<Tensor>();
        foreach (var group in Groups)
        {
            foreach (var (_, p) in group.Params)
            {
                if (p.grad is { } g)
                {
                    sums.Add(g.abs().sum());
                }
            }
        }

        return sums.Count == 0 || stack(sums).sum().isfinite().item<bool>();
    }

    /// <summary>One update with the base learning rate <paramref name="lr"/> (each group scales it).</summary>
    public void Step(double lr)
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var group in Groups)
        {
            var groupLr = lr * group.LrScale;
            foreach (var (key, p) in group.Params)
            {
                var grad = p.grad;
                if (grad is null)
                {
                    continue;
                }

                if (Kind == OptimizerKind.Sgd)
                {
                    SgdUpdate(key, p, grad, groupLr, group.WeightDecay);
                }
                else
                {
                    AdamWUpdate(key, p, grad, groupLr, group.WeightDecay);
                }
            }
        }
    }

    public void ZeroGrad()
    {
        foreach (var group in Groups)
        {
            foreach (var (_, p) in group.Params)
            {
                // Zeroed in place: TorchSharp 0.107's grad setter does not take null (set_to_none), and a stale
                // reference there poisons the next backward with NaN.
                using var g = p.grad;
                g?.zero_();
            }
        }
    }

    /// <summary>The state as named tensors (copies), plus the step count.</summary>
    public List<KeyValuePair<string, Tensor>> StateDict() =>
        [.. state.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => KeyValuePair.Create(e.Key, e.Value))];

    /// <summary>Restores what <see cref="StateDict"/> gave (tensors are copied in).</summary>
    /// <exception cref="CheckpointFormatException">An entry names no parameter of this optimizer, or has another shape or type.</exception>
    public void LoadState(IEnumerable<KeyValuePair<string, Tensor>> entries, long stepCount, string source)
    {
        // Checked before anything is replaced: a state from another model or a damaged file changes nothing.
        var parameters = Groups.SelectMany(g => g.Params).ToDictionary(e => e.Key, e => e.Param);
        var suffixes = Kind == OptimizerKind.Sgd ? new[] { ".momentum_buffer" } : [".exp_avg", ".exp_avg_sq"];
        var incoming = entries.ToList();
        foreach (var (key, value) in incoming)
        {
            var suffix = suffixes.FirstOrDefault(s => key.EndsWith(s, StringComparison.Ordinal));
            if (suffix is null || !parameters.TryGetValue(key[..^suffix.Length], out var p))
            {
                throw new CheckpointFormatException($"{source}: its optimizer entry '{key}' belongs to no trainable parameter of this run.");
            }

            if (!value.shape.SequenceEqual(p.shape) || value.dtype != p.dtype)
            {
                throw new CheckpointFormatException(
                    $"{source}: its optimizer entry '{key}' is {value.dtype} [{string.Join(", ", value.shape)}], not {p.dtype} [{string.Join(", ", p.shape)}] as its parameter.");
            }
        }

        if (stepCount < 0)
        {
            throw new CheckpointFormatException($"{source}: it records {stepCount} optimizer steps; the count cannot be negative.");
        }

        // After a step every trainable parameter has its state (momentum, or AdamW's moments): a state without some
        // would continue as if those parameters had never been trained.
        if (stepCount > 0 && (Kind == OptimizerKind.AdamW || Momentum != 0))
        {
            var present = incoming.Select(e => e.Key).ToHashSet();
            var missing = parameters.Keys.SelectMany(name => suffixes.Select(suffix => name + suffix)).FirstOrDefault(k => !present.Contains(k));
            if (missing is not null)
            {
                throw new CheckpointFormatException($"{source}: its optimizer state lacks '{missing}' after {stepCount} steps; the state is damaged.");
            }
        }

        foreach (var t in state.Values)
        {
            t.Dispose();
        }

        state.Clear();
        foreach (var (key, value) in incoming)
        {
            state[key] = value.clone().DetachFromDisposeScope();
        }

        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var t in state.Values)
        {
            t.Dispose();
        }

        state.Clear();
    }

    private void SgdUpdate(string key, Parameter p, Tensor grad, double lr, double weightDecay)
    {
        // Explicit scalars held until the call returns: TorchSharp 0.107 reads a Scalar's handle without keeping the
        // object alive, so an implicit temporary can be finalised (freed) by the GC during the native call; a training
        // run crashed that way ("Expected false to be true" in c10::Scalar::toFloat).
        using var decay = weightDecay.ToScalar();
        using var momentum = Momentum.ToScalar();
        using var step = (-lr).ToScalar();
        var d = weightDecay == 0 ? grad : grad.add(p, decay);
        if (Momentum != 0)
        {
            var name = key + ".momentum_buffer";
            if (!state.TryGetValue(name, out var buf))
            {
                state[name] = buf = d.clone().DetachFromDisposeScope();
            }
            else
            {
                buf.mul_(momentum).add_(d);
            }

            d = Nesterov ? d.add(buf, momentum) : buf;
        }

        p.add_(d, step);
    }

    private void AdamWUpdate(string key, Parameter p, Tensor grad, double lr, double weightDecay)
    {
        if (!state.TryGetValue(key + ".exp_avg", out var m))
        {
            state[key + ".exp_avg"] = m = zeros_like(p).DetachFromDisposeScope();
            state[key + ".exp_avg_sq"] = zeros_like(p).DetachFromDisposeScope();
        }

        var v = state[key + ".exp_avg_sq"];
        var bias1 = 1 - Math.Pow(Beta1, StepCount);
        var bias2 = 1 - Math.Pow(Beta2, StepCount);

        // Explicit scalars held until the calls return (see SgdUpdate).
        using var shrink = (1 - (lr * weightDecay)).ToScalar();
        using var beta1 = Beta1.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var rootBias2 = Math.Sqrt(bias2).ToScalar();
        using var eps = Eps.ToScalar();
        using var step = (-lr / bias1).ToScalar();
        p.mul_(shrink);
        m.mul_(beta1).add_(grad, oneMinusBeta1);
        v.mul_(beta2).addcmul_(grad, grad, oneMinusBeta2);
        var denom = v.sqrt().div_(rootBias2).add_(eps);
        p.addcdiv_(m, denom, step);
    }
}

/// <summary>Linear warm-up from ~0 to the peak rate, then cosine decay to <c>MinLr</c>, per step.</summary>
internal sealed record CosineSchedule(double PeakLr, long TotalSteps, long WarmupSteps, double MinLr = 0)
{
    public double At(long step)
    {
        if (step < WarmupSteps)
        {
            return PeakLr * (step + 1) / WarmupSteps;
        }

        var t = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps));
        return MinLr + (0.5 * (PeakLr - MinLr) * (1 + Math.Cos(Math.PI * t)));
    }
}
