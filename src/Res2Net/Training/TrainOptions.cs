using Res2Net.Models;

namespace Res2Net.Training;

/// <summary>Everything that decides a training run; the defaults are the ones that meet the Fashion-MNIST targets.</summary>
public sealed record TrainOptions
{
    /// <summary>The registered model to train (default: the small-image Res2Net that trains in minutes).</summary>
    public string Model { get; init; } = SmallImageModels.DefaultName;

    /// <summary>Epochs to train (a resumed run trains up to this many in all).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak learning rate (after warm-up); null: 0.1 for SGD, 0.002 for AdamW (scaled by batch / 128).</summary>
    public double? Lr { get; init; }

    /// <summary>The learning rate the cosine schedule ends at.</summary>
    public double MinLr { get; init; }

    /// <summary>Epochs to train (a resumed run trains up to this many in all).</summary>
    public double WarmupEpochs { get; init; } = 0.3;

    /// <summary>The update rule.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum (SGD) instead of plain heavy-ball momentum.</summary>
    public bool Nesterov { get; init; } = true;

    /// <summary>Weight decay (L2 for SGD, decoupled for AdamW) of convolution and linear weights; norms and biases get none.</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Label smoothing of the training loss.</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>Training-time augmentation.</summary>
    public Augmentation Augmentation { get; init; } = new();

    /// <summary>Seed of initialisation, shuffling and augmentation.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>LibTorch threads; null: one per core.</summary>
    public int? Threads { get; init; }

    /// <summary>Where last.pth, best.pth, last.state, metrics.jsonl and chart.png go; null keeps nothing.</summary>
    public string? OutDir { get; init; }

    /// <summary>Continue from OutDir/last.state (its options win over these, except Epochs, OutDir and Threads).</summary>
    public bool Resume { get; init; }

    /// <summary>Start from these weights (fine-tuning); the classifier is replaced when its class count differs.</summary>
    public string? InitialWeights { get; init; }

    /// <summary>Train the classifier only; the backbone (and its batch-norm statistics) stays as loaded.</summary>
    public bool FreezeBackbone { get; init; }

    /// <summary>
    /// Freeze the stem and the first N stages (mmdetection's <c>frozen_stages</c>): 0 freezes the stem only, 4 every
    /// stage of a four-stage model; their parameters do not learn and their batch norms keep their statistics.
    /// Null freezes nothing.
    /// </summary>
    public int? FreezeStages { get; init; }

    /// <summary>
    /// Keep every batch norm in evaluation mode while training (mmdetection's <c>norm_eval</c>): the running statistics
    /// stay as loaded and batches are normalised with them, which suits the small batches of dense prediction; the
    /// batch norms' scales and shifts still learn unless frozen.
    /// </summary>
    public bool NormEval { get; init; }

    /// <summary>Learning-rate multiplier for everything but the classifier (e.g. 0.1 when fine-tuning).</summary>
    public double BackboneLrScale { get; init; } = 1;

    /// <summary>
    /// Grayscale data with a 3-channel pretrained model: false repeats the gray channel three times; true builds a
    /// 1-channel stem whose weights are the pretrained RGB filters summed over colour.
    /// </summary>
    public bool GrayscaleStem { get; init; }

    /// <summary>Side of the square model input; null: the dataset's own size (28 for Fashion-MNIST, 32 for CIFAR).</summary>
    public int? ImageSize { get; init; }

    /// <summary>Use only the first N training images (per the stratified order), for quick runs; null: all.</summary>
    public int? TrainLimit { get; init; }

    /// <summary>Use only the first N test images; null: all.</summary>
    public int? TestLimit { get; init; }

    /// <summary>Images per step.</summary>
    public int EvalBatchSize { get; init; } = 500;

    /// <summary>The peak learning rate in effect: <see cref="Lr"/>, or the optimizer's default scaled by the batch size.</summary>
    public double PeakLr => Lr ?? (Optimizer == OptimizerKind.Sgd ? 0.1 : 0.002) * BatchSize / 128.0;

    /// <summary>Checks every value; <see cref="InvalidOptionException"/> names the first one out of range.</summary>
    public void Validate()
    {
        Check(Epochs is >= 1 and <= 100_000, nameof(Epochs), $"must be from 1 to 100,000 (got {Epochs})");
        Check(BatchSize is >= 1 and <= 65_536, nameof(BatchSize), $"must be from 1 to 65,536 (got {BatchSize})");
        Check(Lr is null || (Lr > 0 && double.IsFinite(Lr.Value)), nameof(Lr), $"must be positive (got {Lr})");
        Check(MinLr >= 0 && double.IsFinite(MinLr), nameof(MinLr), $"must not be negative (got {MinLr})");
        Check(WarmupEpochs >= 0 && double.IsFinite(WarmupEpochs), nameof(WarmupEpochs), $"must not be negative (got {WarmupEpochs})");
        Check(Momentum is >= 0 and < 1, nameof(Momentum), $"must be in [0, 1) (got {Momentum})");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), $"must not be negative (got {WeightDecay})");
        Check(LabelSmoothing is >= 0 and < 1, nameof(LabelSmoothing), $"must be in [0, 1) (got {LabelSmoothing})");
        Check(Augmentation.CropPadding is >= 0 and <= 64, "CropPadding", $"must be from 0 to 64 (got {Augmentation.CropPadding})");
        Check(FreezeStages is null or (>= 0 and <= 4), nameof(FreezeStages), $"must be from 0 (the stem) to 4 (every stage) (got {FreezeStages})");
        Check(FreezeStages is null || !FreezeBackbone, nameof(FreezeStages), "and FreezeBackbone exclude each other (FreezeBackbone freezes every stage)");
        Check(BackboneLrScale >= 0 && double.IsFinite(BackboneLrScale), nameof(BackboneLrScale), $"must not be negative (got {BackboneLrScale})");
        Check(Threads is null or (>= 1 and <= 1024), nameof(Threads), $"must be from 1 to 1024 (got {Threads})");
        Check(ImageSize is null or (>= 8 and <= 1024), nameof(ImageSize), $"must be from 8 to 1024 pixels (got {ImageSize})");
        Check(TrainLimit is null or >= 1, nameof(TrainLimit), $"must be at least 1 (got {TrainLimit})");
        Check(TestLimit is null or >= 1, nameof(TestLimit), $"must be at least 1 (got {TestLimit})");
        Check(EvalBatchSize is >= 1 and <= 65_536, nameof(EvalBatchSize), $"must be from 1 to 65,536 (got {EvalBatchSize})");

        static void Check(bool ok, string option, string problem)
        {
            if (!ok)
            {
                throw new InvalidOptionException(option, problem);
            }
        }
    }
}
