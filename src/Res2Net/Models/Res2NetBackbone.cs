using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.Imaging;
using Res2Net.Weights;
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
    private protected Res2NetBackbone(string name) : base(name)
    {
        TorchRuntime.Initialize();
    }

    /// <summary>
    /// Builds a model, the one way to get one for training, fine-tuning, export or your own TorchSharp code: a
    /// registered model's published weights (downloaded once into the cache), a checkpoint, or an untrained
    /// architecture (random weights only when asked for, as timm's <c>pretrained=False</c>). With another class count the
    /// classifier is freshly initialised (fine-tuning); with one input channel from RGB weights, the stem's filters are
    /// summed over colour (timm's <c>in_chans=1</c>). An ONNX file is not a source of a model to train.
    /// </summary>
    /// <param name="source">What to build.</param>
    /// <param name="options">Classes, input channels, form and cache; null: the weights' own.</param>
    /// <param name="progress">Hears a download's progress.</param>
    /// <param name="cancellationToken">Stops a download.</param>
    /// <exception cref="Res2NetException">The source cannot be read or downloaded, or the options do not fit it.</exception>
    public static Task<Res2NetBackbone> CreateAsync(ModelSource source, BackboneOptions? options = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        ModelBuilder.CreateAsync(source, options ?? new BackboneOptions(), progress, cancellationToken);

    /// <summary>
    /// Writes the model's weights, strictly loadable by PyTorch (<c>load_state_dict(strict=True)</c>), with its
    /// <see cref="Metadata"/>: the container follows the extension (.pth, .pt, .bin, .ckpt: torch zip; .safetensors).
    /// </summary>
    public void Save(string path) => ModelWeights.Save(this, path);

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

    /// <summary>The published weights the model's weights are, or were fine-tuned from (see <see cref="ModelMetadata.Pretrained"/>).</summary>
    public string? Pretrained { get; internal set; }

    /// <summary>The license the weights come under (see <see cref="ModelMetadata.License"/>); it stays through fine-tuning.</summary>
    public string? License { get; internal set; }

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
        OutputStride = Config.OutputStride,
        Pretrained = Pretrained,
        License = License,
    };

    /// <summary>
    /// Takes what a metadata record says of the weights: the registered name, the class names and transform where
    /// they fit the network, and where the weights come from and under which license.
    /// </summary>
    internal void Describe(ModelMetadata metadata)
    {
        ModelName = metadata.Model;
        if (metadata.ClassNames.Count == Config.NumClasses)
        {
            ClassNames = metadata.ClassNames;
        }

        if (metadata.InChannels == Config.InChannels)
        {
            Preprocess = metadata.Preprocess;
        }

        Pretrained = metadata.Pretrained;
        License = metadata.License;
    }

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
    private protected void CheckStageCount(int count)
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
    private protected abstract void ReplaceClassifier(int numClasses);

    /// <summary>Names of the classifier's parameters (left out when a checkpoint's classifier does not fit).</summary>
    public abstract IReadOnlyList<string> ClassifierKeys { get; }

    /// <summary>
    /// Writes the family's graph up to stage <paramref name="lastStage"/> (batch norm folded), from <paramref name="input"/>;
    /// returns the last feature map's value and each stage's.
    /// </summary>
    internal abstract (string Features, IReadOnlyList<string> Stages) WriteOnnx(OnnxWriter writer, string input, int lastStage);

    /// <summary>Writes the classifier over the pooled features (<paramref name="pooled"/>: N x C x 1 x 1; <paramref name="embedding"/>: N x C) as <paramref name="output"/>.</summary>
    internal abstract string WriteOnnxClassifier(OnnxWriter writer, string pooled, string embedding, string output);

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
    private protected virtual void PrepareStemInference()
    {
    }

    /// <summary>Casts what <see cref="PrepareStemInference"/> folded.</summary>
    private protected virtual void ConvertStemInference(ScalarType dtype)
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
