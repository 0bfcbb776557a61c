using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>
/// One implementation of every ResNet-shaped Res2Net (v1, v1b, Res2NeXt, CIFAR-style), configured by
/// <see cref="Res2NetConfig"/>. Module names match the official code and timm: conv1, bn1, layer1..layer4, fc.
/// </summary>
public sealed partial class Res2NetModel : Res2NetBackbone
{
    private const int Expansion = 4;

    private readonly Module<Tensor, Tensor> conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d? maxpool;
    private readonly Sequential[] layers;
    private readonly StageInfo[] stages;
    private Linear? fc;
    private Res2NetConfig config;

    /// <summary>Builds the network described by <paramref name="config"/> (checked), with LibTorch's default initial weights: initialise or load them next.</summary>
    internal Res2NetModel(Res2NetConfig config) : base(nameof(Res2NetModel))
    {
        this.config = config;

        (conv1, var stemReduction) = BuildStem(config);
        bn1 = Layers.BatchNorm(config.StemWidth);
        if (config.Stem != StemType.Cifar)
        {
            maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
            stemReduction *= 2;
        }

        register_module("conv1", conv1);
        register_module("bn1", bn1);

        layers = new Sequential[config.Layers.Count];
        stages = new StageInfo[config.Layers.Count];
        var inChannels = config.StemWidth;
        var netStride = stemReduction;
        var dilation = 1;
        for (var s = 0; s < layers.Length; s++)
        {
            var stride = s == 0 ? 1 : 2;
            var firstDilation = dilation;
            if (stride > 1 && netStride >= config.OutputStride)
            {
                // Dense prediction: keep the resolution and dilate instead (as torchvision and timm do). The first
                // block keeps the previous dilation (timm), or takes the new one too (mmdetection).
                dilation *= stride;
                stride = 1;
                firstDilation = config.Style == BlockStyle.Official ? firstDilation : dilation;
            }
            else
            {
                netStride *= stride;
            }

            var planes = config.Widths[s];
            layers[s] = MakeStage(config, inChannels, planes, config.Layers[s], stride, firstDilation, dilation);
            inChannels = planes * Expansion;
            stages[s] = new StageInfo($"c{s + 2}", $"layer{s + 1}", inChannels, netStride);
            register_module($"layer{s + 1}", layers[s]);
        }

        NumFeatures = inChannels;
        if (config.NumClasses > 0)
        {
            fc = Layers.Linear(NumFeatures, config.NumClasses);
            register_module("fc", fc);
        }
    }

    /// <inheritdoc/>
    public override ModelConfig Config => config;

    /// <inheritdoc/>
    public override int NumFeatures { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<StageInfo> Stages => stages;

    /// <inheritdoc/>
    public override IReadOnlyList<string> ClassifierKeys => ["fc.weight", "fc.bias"];

    /// <inheritdoc/>
    public override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = Stem(x);
        foreach (var layer in layers)
        {
            x = RunStage(layer, x);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor[] ForwardStages(Tensor x, int count)
    {
        CheckStageCount(count);
        using var scope = NewDisposeScope();
        x = Stem(x);
        var outputs = new Tensor[count];
        for (var s = 0; s < count; s++)
        {
            x = RunStage(layers[s], x, keepInput: s > 0);
            outputs[s] = x;
        }

        foreach (var o in outputs)
        {
            o.MoveToOuterDisposeScope();
        }

        return outputs;
    }

    /// <inheritdoc/>
    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var pooled = functional.adaptive_avg_pool2d(features, 1).flatten(1);
        var result = preLogits || fc is null ? pooled : fc.call(pooled);
        return result.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    private protected override void ReplaceClassifier(int numClasses)
    {
        if (fc is not null)
        {
            register_module("fc", null!);
            fc.Dispose();
            fc = null;
        }

        if (numClasses > 0)
        {
            fc = Layers.Linear(NumFeatures, numClasses);
            register_module("fc", fc);
        }

        config = config with { NumClasses = numClasses };
    }

    /// <summary>The stage blocks, stage by stage (for the ONNX writer, which walks the model without running it).</summary>
    internal IReadOnlyList<IReadOnlyList<Bottle2neck>> Blocks => layers.Select(l => (IReadOnlyList<Bottle2neck>)l.children().Cast<Bottle2neck>().ToList()).ToList();

    /// <summary>The classifier, if any.</summary>
    internal Linear? Classifier => fc;

    /// <summary>Whether a 3x3 stride-2 max pool follows the stem's convolutions.</summary>
    internal bool HasMaxPool => maxpool is not null;

    /// <summary>
    /// The stem's convolutions with their batch norms folded in, each followed by a ReLU: the deep stem's three
    /// (conv-bn-relu, conv-bn-relu, conv, then bn1), the others' one (conv, then bn1). The caller owns them.
    /// </summary>
    internal IReadOnlyList<FoldedConv> FoldStem()
    {
        var parts = conv1 is Sequential seq ? seq.children().ToList() : [conv1];
        var result = new List<FoldedConv>();
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i] is Conv2dLayer conv)
            {
                result.Add(FoldedConv.From(conv, i + 1 < parts.Count && parts[i + 1] is BatchNorm2d next ? next : bn1));
            }
        }

        return result;
    }

    private Tensor Stem(Tensor x)
    {
        if (stemPlan is not null && !is_grad_enabled())
        {
            return stemPlan.Forward(x);
        }

        x = bn1.call(conv1.call(x)).relu_();
        return maxpool is null ? x : maxpool.call(x);
    }

    /// <summary>
    /// Runs a stage's blocks, releasing each block's input as soon as the next block has its output (the input given
    /// is released too unless <paramref name="keepInput"/>): a forward pass then holds two feature maps at a time, not
    /// all of them, so LibTorch reuses memory that is still mapped (see <see cref="TorchRuntime.TuneAllocator"/>).
    /// </summary>
    private static Tensor RunStage(Sequential stage, Tensor x, bool keepInput = false)
    {
        foreach (var block in stage.children().Cast<Module<Tensor, Tensor>>())
        {
            var y = block.call(x);
            if (!keepInput)
            {
                x.Dispose();
            }

            (x, keepInput) = (y, false);
        }

        return x;
    }

    private static (Module<Tensor, Tensor> Conv1, int Reduction) BuildStem(Res2NetConfig c) => c.Stem switch
    {
        StemType.Conv7x7 => (new Conv2dLayer(c.InChannels, c.StemWidth, kernelSize: 7, stride: 2, padding: 3, bias: false), 2),
        StemType.Deep => (Sequential(
            new Conv2dLayer(c.InChannels, c.StemWidth / 2, kernelSize: 3, stride: 2, padding: 1, bias: false),
            Layers.BatchNorm(c.StemWidth / 2),
            ReLU(inplace: true),
            new Conv2dLayer(c.StemWidth / 2, c.StemWidth / 2, kernelSize: 3, stride: 1, padding: 1, bias: false),
            Layers.BatchNorm(c.StemWidth / 2),
            ReLU(inplace: true),
            new Conv2dLayer(c.StemWidth / 2, c.StemWidth, kernelSize: 3, stride: 1, padding: 1, bias: false)), 2),
        StemType.Cifar => (new Conv2dLayer(c.InChannels, c.StemWidth, kernelSize: 3, stride: c.CifarStemStride, padding: 1, bias: false), c.CifarStemStride),
        _ => throw new ArgumentOutOfRangeException(nameof(c), $"Unknown stem type {c.Stem}."),
    };

    private static Sequential MakeStage(Res2NetConfig c, int inChannels, int planes, int blocks, int stride, int firstDilation, int dilation)
    {
        var outChannels = planes * Expansion;
        var width = planes * c.BaseWidth / 64 * c.Cardinality;
        Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inChannels != outChannels)
        {
            // v1b: the shortcut averages stride x stride windows; in a stage dilated instead of strided, timm averages
            // 2x2 windows at stride 1 (AvgPool2dSame), mmdetection none; the first stage (neither) none.
            Module<Tensor, Tensor> pool = stride > 1 ? AvgPool2d(kernel_size: stride, stride: stride, ceil_mode: true, count_include_pad: false)
                : dilation > 1 && c.Style == BlockStyle.Official ? new AvgPoolSame()
                : Identity();
            downsample = c.AvgDown
                ? Sequential(
                    pool,
                    new Conv2dLayer(inChannels, outChannels, kernelSize: 1, stride: 1, bias: false),
                    Layers.BatchNorm(outChannels))
                : Sequential(
                    new Conv2dLayer(inChannels, outChannels, kernelSize: 1, stride: stride, bias: false),
                    Layers.BatchNorm(outChannels));
        }

        var stage = Sequential();
        // mmdetection's first blocks pool their last group only where they stride; detectron2's stride in conv1 and never pool.
        var poolLastGroup = c.Style == BlockStyle.Official || (c.Style == BlockStyle.MMDetection && stride > 1);
        var (conv1Stride, convStride) = c.Style == BlockStyle.Detectron2 ? (stride, 1) : (1, stride);
        stage.append(new Bottle2neck(inChannels, outChannels, width, c.Scale, c.Cardinality, convStride, firstDilation, firstInStage: true, downsample,
            poolLastGroup, conv1Stride));
        for (var i = 1; i < blocks; i++)
        {
            stage.append(new Bottle2neck(outChannels, outChannels, width, c.Scale, c.Cardinality, 1, dilation));
        }

        return stage;
    }
}
