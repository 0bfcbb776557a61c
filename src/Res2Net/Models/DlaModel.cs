using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Res2Net.Models;

/// <summary>
/// Deep Layer Aggregation with Res2Net or Res2NeXt blocks (Res2Net-DLA-60, Res2NeXt-DLA-60), as the official dla.py:
/// base_layer, level0..level5 (level2..level5 are aggregation trees), a 1x1 convolution as classifier.
/// </summary>
public sealed partial class DlaModel : Res2NetBackbone
{
    private readonly Sequential base_layer;
    private readonly Sequential level0;
    private readonly Sequential level1;
    private readonly DlaTree[] trees;
    private readonly StageInfo[] stages;
    private Conv2dLayer? fc;
    private DlaConfig config;

    /// <summary>Builds the network described by <paramref name="config"/> (checked), with LibTorch's default initial weights: initialise or load them next.</summary>
    internal DlaModel(DlaConfig config) : base(nameof(DlaModel))
    {
        this.config = config;
        var ch = config.Channels;
        base_layer = Sequential(
            new Conv2dLayer(config.InChannels, ch[0], kernelSize: 7, stride: 1, padding: 3, bias: false),
            Layers.BatchNorm(ch[0]),
            ReLU(inplace: true));
        level0 = ConvLevel(ch[0], ch[0], config.Levels[0], 1);
        level1 = ConvLevel(ch[0], ch[1], config.Levels[1], 2);
        register_module("base_layer", base_layer);
        register_module("level0", level0);
        register_module("level1", level1);

        Func<int, int, int, Bottle2neck> block = config.Block switch
        {
            DlaBlock.Res2Net => (inC, planes, stride) => new Bottle2neck(inC, planes, planes * config.BaseWidth / 128, config.Scale, 1, stride, 1, firstInStage: stride != 1),
            DlaBlock.Res2NeXt => (inC, planes, stride) => new Bottle2neck(inC, planes, planes * config.Cardinality / 32, config.Scale, config.Cardinality, stride, 1, firstInStage: stride != 1),
            _ => throw new ArgumentOutOfRangeException(nameof(config), $"Unknown DLA block {config.Block}."),
        };

        trees = new DlaTree[4];
        stages = new StageInfo[4];
        var reduction = 2;
        for (var i = 0; i < 4; i++)
        {
            var level = i + 2;
            trees[i] = new DlaTree(config.Levels[level], block, ch[level - 1], ch[level], 2, levelRoot: level > 2, rootDim: 0);
            reduction *= 2;
            stages[i] = new StageInfo($"c{level}", $"level{level}", ch[level], reduction);
            register_module($"level{level}", trees[i]);
        }

        NumFeatures = ch[5];
        if (config.NumClasses > 0)
        {
            fc = new Conv2dLayer(NumFeatures, config.NumClasses, kernelSize: 1, bias: true);
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
        x = level1.call(level0.call(base_layer.call(x)));
        foreach (var tree in trees)
        {
            x = tree.forward(x);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor[] ForwardStages(Tensor x, int count)
    {
        CheckStageCount(count);
        using var scope = NewDisposeScope();
        x = level1.call(level0.call(base_layer.call(x)));
        var outputs = new Tensor[count];
        for (var i = 0; i < count; i++)
        {
            x = trees[i].forward(x);
            outputs[i] = x;
        }

        foreach (var o in outputs)
        {
            o.MoveToOuterDisposeScope();
        }

        return outputs;
    }

    /// <summary>The layers before the trees: base_layer, level0 and level1 (convolution, batch norm, ReLU each).</summary>
    internal IReadOnlyList<Sequential> Levels => [base_layer, level0, level1];

    /// <summary>The aggregation trees of level2..level5.</summary>
    internal IReadOnlyList<DlaTree> Trees => trees;

    /// <summary>The 1x1 convolution that classifies, if any.</summary>
    internal Conv2dLayer? Classifier => fc;

    /// <remarks>
    /// The official code pools with AvgPool2d(7), which equals a global average at 224x224; a global average keeps
    /// other input sizes working.
    /// </remarks>
    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var pooled = functional.adaptive_avg_pool2d(features, 1);
        var result = preLogits || fc is null ? pooled.flatten(1) : fc.call(pooled).flatten(1);
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
            fc = new Conv2dLayer(NumFeatures, numClasses, kernelSize: 1, bias: true);
            register_module("fc", fc);
        }

        config = config with { NumClasses = numClasses };
    }

    private static Sequential ConvLevel(int inChannels, int outChannels, int convs, int stride)
    {
        var level = Sequential();
        for (var i = 0; i < convs; i++)
        {
            level.append(new Conv2dLayer(inChannels, outChannels, kernelSize: 3, stride: i == 0 ? stride : 1, padding: 1, bias: false));
            level.append(Layers.BatchNorm(outChannels));
            level.append(ReLU(inplace: true));
            inChannels = outChannels;
        }

        return level;
    }
}

/// <summary>One aggregation node of DLA: concatenates its children, 1x1 convolution, batch norm, ReLU.</summary>
internal sealed class DlaRoot : Module<Tensor, Tensor>
{
    private readonly Conv2dLayer conv;
    private readonly BatchNorm2d bn;
    private readonly bool residual;

    public DlaRoot(int inChannels, int outChannels, int kernelSize, bool residual) : base(nameof(DlaRoot))
    {
        conv = new Conv2dLayer(inChannels, outChannels, kernelSize: kernelSize, stride: 1, padding: (kernelSize - 1) / 2, bias: false);
        bn = Layers.BatchNorm(outChannels);
        this.residual = residual;
        RegisterComponents();
    }

    /// <summary>Whether the first child is added back before the ReLU (read by the ONNX exporter).</summary>
    internal bool Residual => residual;

    /// <summary>The root's convolution with its batch norm folded in; the caller owns it.</summary>
    internal FoldedConv Fold() => FoldedConv.From(conv, bn);

    public override Tensor forward(Tensor x) => forward([x]);

    public Tensor forward(IList<Tensor> children)
    {
        using var scope = NewDisposeScope();
        var y = bn.call(conv.call(cat(children, 1)));
        if (residual)
        {
            y = y.add_(children[0]);
        }

        return y.relu_().MoveToOuterDisposeScope();
    }
}

/// <summary>A DLA tree of depth <c>levels</c>: two subtrees (or two blocks at depth 1) and a root that aggregates them.</summary>
internal sealed class DlaTree : Module<Tensor, Tensor>
{
    // Field order is registration order, which is the official state_dict order.
    private readonly Module tree1;
    private readonly Module tree2;
    private readonly DlaRoot? root;
    private readonly MaxPool2d? downsample;
    private readonly Sequential? project;
    private readonly int levels;
    private readonly bool levelRoot;

    public DlaTree(int levels, Func<int, int, int, Bottle2neck> block, int inChannels, int outChannels, int stride,
        bool levelRoot, int rootDim, int rootKernelSize = 1, bool rootResidual = false) : base(nameof(DlaTree))
    {
        if (rootDim == 0)
        {
            rootDim = 2 * outChannels;
        }

        if (levelRoot)
        {
            rootDim += inChannels;
        }

        if (levels == 1)
        {
            tree1 = block(inChannels, outChannels, stride);
            tree2 = block(outChannels, outChannels, 1);
            root = new DlaRoot(rootDim, outChannels, rootKernelSize, rootResidual);
        }
        else
        {
            tree1 = new DlaTree(levels - 1, block, inChannels, outChannels, stride, false, 0, rootKernelSize, rootResidual);
            tree2 = new DlaTree(levels - 1, block, outChannels, outChannels, 1, false, rootDim + outChannels, rootKernelSize, rootResidual);
        }

        if (stride > 1)
        {
            downsample = MaxPool2d(kernel_size: stride, stride: stride);
        }

        if (inChannels != outChannels)
        {
            project = Sequential(
                new Conv2dLayer(inChannels, outChannels, kernelSize: 1, stride: 1, bias: false),
                Layers.BatchNorm(outChannels));
        }

        this.levels = levels;
        this.levelRoot = levelRoot;
        Stride = stride;
        RegisterComponents();
    }

    // Read by the ONNX exporter, which walks the tree without running it.
    internal int Levels => levels;

    /// <summary>The first child: a block (depth 1) or a tree.</summary>
    internal Module Tree1 => tree1;

    /// <summary>The second child: a block (depth 1) or a tree.</summary>
    internal Module Tree2 => tree2;

    /// <summary>The aggregation node of a depth-1 tree.</summary>
    internal DlaRoot? Root => root;

    /// <summary>Whether the input is max-pooled (kernel and stride <see cref="Stride"/>) before the children.</summary>
    internal bool Downsamples => downsample is not null;

    /// <summary>The 1x1 projection of the shortcut with its batch norm folded in (null: none); the caller owns it.</summary>
    internal FoldedConv? FoldProject() =>
        project is null ? null : FoldedConv.From((Conv2dLayer)project.children().First(), (BatchNorm2d)project.children().Last());

    internal bool LevelRoot => levelRoot;

    internal int Stride { get; }

    public override Tensor forward(Tensor x) => forward(x, null);

    public Tensor forward(Tensor x, List<Tensor>? children)
    {
        using var scope = NewDisposeScope();
        children ??= [];
        var bottom = downsample is null ? x : downsample.call(x);
        if (levelRoot)
        {
            children.Add(bottom);
        }

        // As in the official code, the projection also runs where a deeper tree ignores it: its batch-norm
        // statistics then train exactly as there, and MAC counts match the official figures.
        var residual = project is null ? bottom : project.call(bottom);
        Tensor result;
        if (levels == 1)
        {
            var x1 = ((Bottle2neck)tree1).forward(x, residual);
            var x2 = ((Bottle2neck)tree2).forward(x1, null);
            result = root!.forward([x2, x1, .. children]);
        }
        else
        {
            var x1 = ((DlaTree)tree1).forward(x, null);
            children.Add(x1);
            result = ((DlaTree)tree2).forward(x1, children);
        }

        return result.MoveToOuterDisposeScope();
    }
}
