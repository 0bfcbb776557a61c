using Res2Net.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Models;

/// <summary>
/// What every Res2Net model offers, named after timm's seams: <see cref="ForwardFeatures"/> (last feature map),
/// <see cref="ForwardHead"/> (pool and classify), <see cref="ForwardStages(Tensor)"/> (C2..C5 for detection and segmentation),
/// <see cref="ResetClassifier"/> (fine-tuning to another class count).
/// </summary>
public abstract class Res2NetBackbone : nn.Module<Tensor, Tensor>
{
    private IReadOnlyList<string> classNames = [];

    /// <summary>A backbone module named <paramref name="name"/>; loads LibTorch and applies the runtime settings first.</summary>
    protected Res2NetBackbone(string name) : base(name)
    {
        TorchRuntime.Initialize();
    }

    /// <summary>The registered name the model was created under, if any.</summary>
    public string? ModelName { get; internal set; }

    /// <summary>One name per class of the classifier, or empty when unknown; <see cref="ResetClassifier"/> clears it.</summary>
    public IReadOnlyList<string> ClassNames
    {
        get => classNames;
        set => classNames = Array.AsReadOnly((value ?? throw new ArgumentNullException(nameof(value))).ToArray());
    }

    /// <summary>The evaluation transform the weights expect (the registry's for a registered model).</summary>
    public PreprocessConfig Preprocess { get; set; } = PreprocessConfig.ImageNet;

    /// <summary>
    /// What the model is, as files written from it record it (see <see cref="ModelMetadata"/>): its registered name, input
    /// channels, classes with their names, and its preprocessing normalised over its input channels.
    /// </summary>
    public ModelMetadata Metadata => new()
    {
        Model = ModelName ?? GetType().Name,
        InChannels = Config.InChannels,
        NumClasses = Config.NumClasses,
        ClassNames = ClassNames.Count == Config.NumClasses ? ClassNames : [],
        Preprocess = Preprocess.ForChannels(Config.InChannels),
        OutputStride = Stages.Count > 0 ? Stages[^1].Reduction : 32,
    };

    /// <summary>The configuration the model was built from (its class count follows <see cref="ResetClassifier"/>).</summary>
    public abstract ModelConfig Config { get; }

    /// <summary>Length of the pooled embedding (channels of the last stage).</summary>
    public abstract int NumFeatures { get; }

    /// <summary>The four (CIFAR-style: three) stage outputs, C2 first.</summary>
    public abstract IReadOnlyList<StageInfo> Stages { get; }

    /// <summary>Runs the network up to the last stage and returns its feature map (N, C, H, W).</summary>
    public abstract Tensor ForwardFeatures(Tensor x);

    /// <summary>Runs the network and returns every stage output, C2 first.</summary>
    public Tensor[] ForwardStages(Tensor x) => ForwardStages(x, Stages.Count);

    /// <summary>
    /// Runs the network up to stage <paramref name="count"/> (1 is C2) and returns those stage outputs, C2 first; the
    /// later stages are not run at all (timm's <c>stop_early</c>).
    /// </summary>
    public abstract Tensor[] ForwardStages(Tensor x, int count);

    /// <summary>What each stage outputs (name, channels, reduction), as timm's <c>feature_info</c>.</summary>
    public IReadOnlyList<StageInfo> FeatureInfo => Stages;

    /// <summary>Throws unless 1 &lt;= <paramref name="count"/> &lt;= the number of stages.</summary>
    protected void CheckStageCount(int count)
    {
        if (count < 1 || count > Stages.Count)
        {
            throw new InvalidOptionException("Stages", $"must be from 1 to {Stages.Count} (got {count})");
        }
    }

    /// <summary>Global average pool and classifier; with <paramref name="preLogits"/> only the pooled embedding (N, C).</summary>
    public abstract Tensor ForwardHead(Tensor features, bool preLogits = false);

    /// <summary>Replaces the classifier with a freshly initialised one for <paramref name="numClasses"/> classes (0: none); the class names are forgotten.</summary>
    public void ResetClassifier(int numClasses)
    {
        if (numClasses < 0)
        {
            throw new InvalidOptionException("NumClasses", $"must not be negative (got {numClasses})");
        }

        ReplaceClassifier(numClasses);
        ClassNames = [];
    }

    /// <summary>Replaces the classifier (see <see cref="ResetClassifier"/>) and records the new class count in <see cref="Config"/>.</summary>
    protected abstract void ReplaceClassifier(int numClasses);

    /// <summary>Names of the classifier's parameters (left out when a checkpoint's classifier does not fit).</summary>
    public abstract IReadOnlyList<string> ClassifierKeys { get; }

    /// <summary>The pooled embedding (N, NumFeatures).</summary>
    public Tensor ForwardEmbedding(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(ForwardFeatures(x), preLogits: true).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(ForwardFeatures(x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Prepares the fast inference path of every block (see <see cref="Bottle2neck.PrepareInference"/>): used whenever
    /// gradients are off, until the model is switched to training. Call again after changing weights. With a
    /// <paramref name="dtype"/> other than float32 (bfloat16), batch norm is folded in float32 and then the whole model
    /// is cast: inputs must then come in that type.
    /// </summary>
    public void PrepareInference(bool groupFirstBlocks = true, ScalarType dtype = ScalarType.Float32)
    {
        var blocks = modules().OfType<Bottle2neck>().ToList();
        foreach (var block in blocks)
        {
            block.PrepareInference(groupFirstBlocks);
        }

        PrepareStemInference();
        if (parameters().FirstOrDefault()?.dtype is { } current && current != dtype)
        {
            foreach (var block in blocks)
            {
                block.ConvertInference(dtype);
            }

            ConvertStemInference(dtype);
            this.to(dtype);
        }
    }

    /// <summary>Rebuilds the inference plans from the current weights (loading weights calls this).</summary>
    public void RefreshInference()
    {
        foreach (var (_, m) in named_modules())
        {
            if (m is Bottle2neck block)
            {
                block.RefreshInference();
            }
        }

        if (HasStemInferencePlan)
        {
            // Folded in float32 and stored as the stem's parameters are, as PrepareInference left them.
            PrepareStemInference();
        }
    }

    /// <summary>Whether the layers before the first block have an inference plan (see <see cref="PrepareStemInference"/>).</summary>
    public virtual bool HasStemInferencePlan => false;

    /// <summary>Folds the layers before the first block for the inference path, in float32 (default: nothing to fold).</summary>
    protected virtual void PrepareStemInference()
    {
    }

    /// <summary>Casts what <see cref="PrepareStemInference"/> folded.</summary>
    protected virtual void ConvertStemInference(ScalarType dtype)
    {
    }

    /// <summary>Number of parameters (weights, biases), without buffers such as batch-norm statistics.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>
    /// Initialisation of the official code: He normal (fan-out) for convolutions, BN weight 1 and bias 0, PyTorch's
    /// defaults (uniform, bound 1/sqrt(fan-in)) for biases and the linear classifier. With a <paramref name="generator"/>
    /// every draw comes from it: the global generator is shared by every thread of the process, so a seed set with
    /// manual_seed does not survive another thread drawing (two trainers, or a trainer beside other work).
    /// </summary>
    public void InitializeWeights(Generator? generator = null)
    {
        using var noGrad = no_grad();
        foreach (var (_, m) in named_modules())
        {
            switch (m)
            {
                case Conv2dLayer conv:
                    {
                        // Fan as PyTorch computes it from the weight's shape: (out, in / groups, k, k).
                        var receptive = conv.KernelSize * conv.KernelSize;
                        conv.Weight.normal_(0, Math.Sqrt(2.0 / (conv.OutChannels * receptive)), generator);
                        if (conv.Bias is { } bias)
                        {
                            var bound = 1 / Math.Sqrt(conv.InChannels / conv.Groups * receptive);
                            bias.uniform_(-bound, bound, generator);
                        }

                        break;
                    }

                case TorchSharp.Modules.Linear linear:
                    {
                        // kaiming_uniform_(a = sqrt(5)) reduces to this bound for the weight, and the bias uses the same.
                        var bound = 1 / Math.Sqrt(linear.in_features);
                        linear.weight!.uniform_(-bound, bound, generator);
                        linear.bias?.uniform_(-bound, bound, generator);
                        break;
                    }

                case TorchSharp.Modules.BatchNorm2d bn:
                    nn.init.constant_(bn.weight, 1);
                    nn.init.constant_(bn.bias, 0);
                    bn.reset_running_stats();
                    break;
            }
        }
    }
}
