using System.Diagnostics;
using Res2Net.Engines;
using Res2Net.Imaging;
using Res2Net.IO;
using Res2Net.Models;
using Res2Net.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Res2Net.Training;

/// <summary>
/// Trains a registered model on a dataset: one epoch = shuffled batches with augmentation, then evaluation on the test
/// split, then the checkpoint files. Reproducible: with the same seed, threads and machine, every number repeats.
/// </summary>
public sealed class Trainer
{
    private readonly TrainOptions o;
    private readonly DatasetSplits data;
    private readonly ITrainingObserver observer;

    /// <summary>A trainer for <paramref name="data"/>; <paramref name="observer"/> hears its progress.</summary>
    public Trainer(TrainOptions options, DatasetSplits data, ITrainingObserver? observer = null)
    {
        o = options;
        this.data = data;
        this.observer = observer ?? new NullObserver();
    }

    /// <summary>Runs to the last epoch, or until <paramref name="cancel"/> fires (then saves where it stands).</summary>
    public TrainResult Run(CancellationToken cancel = default)
    {
        var options = o;
        TrainingProgress? resumed = null;
        Dictionary<string, TensorData>? resumedModel = null, resumedOptim = null;
        string? stateFile = options.OutDir is null ? null : Path.Combine(options.OutDir, TrainingCheckpoint.StateFile);
        using var outLock = options.OutDir is null ? null : LockOutDir(options.OutDir);
        if (options.Resume)
        {
            if (stateFile is null || !File.Exists(stateFile))
            {
                throw new FileNotFoundException($"Nothing to resume: {stateFile ?? "(no output directory)"} does not exist.");
            }

            (resumed, resumedModel, resumedOptim) = TrainingCheckpoint.Load(stateFile);
            options = Restore(options, resumed.Options);
        }

        options.Validate();
        if (data.Train.Count == 0 || data.Test.Count == 0)
        {
            throw new DatasetFormatException($"{(data.Train.Count == 0 ? data.Train.Name : data.Test.Name)} holds no images.");
        }

        if (options.Threads is { } threads)
        {
            set_num_threads(threads);
        }

        TorchRuntime.TuneForRepeatedPasses(); // Keeps LibTorch's freed activation buffers on the heap (NativeMemory).

        var info = ModelRegistry.Get(options.Model);
        var train = options.TrainLimit is { } tl && tl < data.Train.Count ? Interleaved(data.Train, tl) : data.Train;
        var test = options.TestLimit is { } vl && vl < data.Test.Count ? Interleaved(data.Test, vl) : data.Test;
        var size = options.ImageSize ?? Math.Min(data.Train.Height, data.Train.Width);
        // From scratch the model takes the data's channels; starting from weights it takes theirs, so gray data on an
        // RGB checkpoint is repeated to three channels unless a gray stem is asked for.
        var initial = options.InitialWeights is null ? null : ModelCheckpoint.Read(options.InitialWeights, info.Name);
        var inChannels = initial is null || options.GrayscaleStem ? data.Train.Channels : initial.Metadata.InChannels;

        var build = new BackboneOptions { NumClasses = data.Train.NumClasses, InChannels = inChannels, Seed = options.Seed };
        using var model = initial is not null && resumedModel is null ? ModelBuilder.FromCheckpoint(initial, build)
            : ModelBuilder.Untrained(ModelSource.Untrained(info.Name), build);
        if (resumedModel is not null)
        {
            ModelWeights.Load(model, resumedModel, stateFile!);
        }

        var frozen = FrozenModules(model, options.FreezeBackbone ? model.Stages.Count : options.FreezeStages);
        foreach (var module in frozen)
        {
            foreach (var p in module.parameters())
            {
                p.requires_grad = false;
            }
        }

        var groups = Optimizer.SplitParameters(model, model.ClassifierKeys.ToHashSet(), options.WeightDecay, options.BackboneLrScale);
        using var optimizer = new Optimizer(options.Optimizer, groups, options.Momentum, options.Nesterov);
        if (resumed is not null)
        {
            optimizer.LoadState(resumedOptim!.Select(e => KeyValuePair.Create(e.Key, e.Value.ToTensor())), resumed.OptimizerSteps, stateFile!);
        }

        // What the checkpoints record: the classes and the transform photos need to look like the training images.
        model.ClassNames = train.Classes;
        model.Preprocess = TrainingPreprocess(info, initial, inChannels, size);
        var trainBatches = new BatchMaker(train, inChannels, size, model.Preprocess);
        var testBatches = new BatchMaker(test, inChannels, size, model.Preprocess);
        var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        if (resumed is not null)
        {
            // The state against this run's data: a state from another dataset or another size is not this run's.
            var mismatch = resumed.NumClasses != data.Train.NumClasses ? $"{resumed.NumClasses} classes, the data {data.Train.NumClasses}"
                : resumed.InChannels != inChannels ? $"{resumed.InChannels} input channels, the data {inChannels}"
                : resumed.ImageSize != size ? $"{resumed.ImageSize}-pixel images, this run {size}"
                : resumed.StepInEpoch >= stepsPerEpoch ? $"step {resumed.StepInEpoch} of an epoch, which has {stepsPerEpoch}"
                : resumed.OptimizerSteps > ((long)resumed.EpochsDone * stepsPerEpoch) + resumed.StepInEpoch
                    ? $"{resumed.OptimizerSteps:N0} optimizer steps after {resumed.EpochsDone} epochs and {resumed.StepInEpoch} steps of {stepsPerEpoch}"
                : null;
            if (mismatch is not null)
            {
                throw new CheckpointFormatException($"{stateFile}: it records {mismatch}; it is not the state of a run on this data.");
            }

            if (resumed.EpochsDone >= options.Epochs)
            {
                throw new InvalidOptionException(nameof(TrainOptions.Resume),
                    $"has nothing left to do: {stateFile} finished all {options.Epochs} epochs (its best checkpoint is beside it)");
            }
        }

        var schedule = new CosineSchedule(options.PeakLr, (long)stepsPerEpoch * options.Epochs,
            (long)Math.Round(options.WarmupEpochs * stepsPerEpoch), options.MinLr);

        if (options.OutDir is not null)
        {
            Directory.CreateDirectory(options.OutDir);

            // Class names beside the checkpoints too (the checkpoints record them), for tools that read a plain list.
            var names = string.Join('\n', train.Classes) + '\n';
            AtomicFile.Write(Path.Combine(options.OutDir, ImageNetLabels.ClassesFileName), s => s.Write(System.Text.Encoding.UTF8.GetBytes(names)));
        }

        var metricsPath = options.OutDir is null ? null : Path.Combine(options.OutDir, MetricsLog.FileName);
        var history = new List<EpochMetrics>();
        if (metricsPath is not null)
        {
            if (resumed is not null)
            {
                history = MetricsLog.Truncate(metricsPath, resumed.EpochsDone);
            }
            else if (File.Exists(metricsPath))
            {
                File.Delete(metricsPath);
            }
        }

        var startEpoch = (resumed?.EpochsDone ?? 0) + 1;
        var bestTop1 = resumed?.BestTop1 ?? double.NegativeInfinity;
        var bestEpoch = resumed?.BestEpoch ?? 0;
        var elapsedBefore = resumed?.ElapsedSeconds ?? 0;
        var clock = Stopwatch.StartNew();
        var snapshot = Snapshot(options);
        var skipped = 0;

        // What a checkpoint records after `epochsDone` whole epochs (a stop inside an epoch adds the partial sums).
        TrainingProgress Progress(int epochsDone) => new()
        {
            Model = info.Name,
            NumClasses = train.NumClasses,
            InChannels = inChannels,
            ImageSize = size,
            EpochsDone = epochsDone,
            OptimizerSteps = optimizer.StepCount,
            BestTop1 = bestTop1,
            BestEpoch = bestEpoch,
            Seed = options.Seed,
            ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds,
            Options = snapshot,
        };

        observer.Info($"{info.Name}: {model.ParameterCount():N0} parameters, {inChannels}x{size}x{size} input, {train.Count:N0} training and {test.Count:N0} test images ({data.Format}), {stepsPerEpoch} steps per epoch");

        for (var epoch = startEpoch; epoch <= options.Epochs; epoch++)
        {
            var first = resumed is not null && epoch == startEpoch ? resumed.StepInEpoch : 0;
            double lossSum = first > 0 ? resumed!.PartialLossSum : 0, partialSeconds = first > 0 ? resumed!.PartialSeconds : 0;
            long correct = first > 0 ? resumed!.PartialCorrect : 0, seen = first > 0 ? resumed!.PartialSeen : 0;
            var order = Permutation(train.Count, options.Seed, epoch);
            observer.EpochStarted(epoch, options.Epochs, stepsPerEpoch, first);
            SetTrainMode(model, frozen, options.NormEval);
            var epochClock = Stopwatch.StartNew();
            long imagesThisRun = 0;
            var skippedInARow = 0;
            var lr = schedule.At(optimizer.StepCount);
            for (var step = first; step < stepsPerEpoch; step++)
            {
                if (cancel.IsCancellationRequested)
                {
                    var progress = Progress(epoch - 1) with
                    {
                        StepInEpoch = step,
                        PartialLossSum = lossSum,
                        PartialCorrect = correct,
                        PartialSeen = seen,
                        PartialSeconds = partialSeconds + epochClock.Elapsed.TotalSeconds,
                    };
                    if (stateFile is not null)
                    {
                        TrainingCheckpoint.Save(stateFile, model, optimizer, progress);
                    }

                    observer.Info($"stopped at epoch {epoch}, step {step}; {(stateFile is null ? "nothing saved (no output directory)" : $"saved {stateFile}, resume with TrainOptions.Resume")}");
                    return new TrainResult(history, bestEpoch, bestTop1, true, elapsedBefore + clock.Elapsed.TotalSeconds, model.Metadata);
                }

                lr = schedule.At(optimizer.StepCount);
                var start = step * options.BatchSize;
                var count = Math.Min(options.BatchSize, train.Count - start);
                var random = new Random(StableSeed(options.Seed, epoch, step, 0x5bd1e995));
                var (loss, hits) = TrainStep(model, optimizer, trainBatches, order.AsSpan(start, count), options, random, lr);
                if (!double.IsFinite(loss))
                {
                    throw new TrainingDivergedException(
                        $"Training diverged: the loss became {loss} at epoch {epoch}, step {step + 1} (learning rate {lr:G3}); "
                        + (bestEpoch > 0 || epoch > 1 ? $"the checkpoint of epoch {epoch - 1} is kept" : "no checkpoint was written")
                        + ", try a lower Lr.");
                }

                if (hits < 0)
                {
                    // Non-finite gradients with a finite loss: the step is skipped (see Optimizer.GradientsFinite).
                    skipped++;
                    if (++skippedInARow >= 5)
                    {
                        throw new TrainingDivergedException(
                            $"Training diverged: the gradients were not finite for 5 steps in a row at epoch {epoch}, step {step + 1}; "
                            + $"the checkpoint of epoch {epoch - 1} is kept, try a lower Lr.");
                    }

                    hits = 0;
                }
                else
                {
                    skippedInARow = 0;
                }

                lossSum += loss * count;
                correct += hits;
                seen += count;
                imagesThisRun += count;
                observer.Step(new StepProgress(epoch, step + 1, stepsPerEpoch, lossSum / seen, 100.0 * correct / seen,
                    imagesThisRun / epochClock.Elapsed.TotalSeconds, lr));
            }

            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            observer.Evaluating(epoch);
            var eval = Evaluate(model, testBatches, test.Count, options.EvalBatchSize);
            var metrics = new EpochMetrics(info.Name, epoch, lossSum / seen, 100.0 * correct / seen, eval.Loss, eval.Top1, eval.Top5,
                lr, Math.Round(partialSeconds + epochClock.Elapsed.TotalSeconds, 3), Math.Round(imagesThisRun / trainSeconds, 1));
            if (!double.IsFinite(eval.Loss))
            {
                throw new TrainingDivergedException($"Training diverged: the test loss of epoch {epoch} is {eval.Loss}; the checkpoint of epoch {epoch - 1} is kept, try a lower Lr.");
            }

            var isBest = eval.Top1 > bestTop1;
            if (isBest)
            {
                (bestTop1, bestEpoch) = (eval.Top1, epoch);
            }

            history.Add(metrics);
            if (options.OutDir is not null)
            {
                // Order matters for a kill at any instant: the state file is the truth a resume reads, written last.
                if (isBest)
                {
                    ModelWeights.Save(model, Path.Combine(options.OutDir, "best.pth"));
                }

                ModelWeights.Save(model, Path.Combine(options.OutDir, "last.pth"));
                MetricsLog.Write(metricsPath!, history);
                TrainingCheckpoint.Save(stateFile!, model, optimizer, Progress(epoch));
                TrainingChart.Save(Path.Combine(options.OutDir, TrainingChart.FileName), history, $"{info.Name}: {train.Count:N0} training images ({data.Format}), seed {options.Seed}");
            }

            if (skipped > 0)
            {
                observer.Info($"{skipped} step{(skipped == 1 ? "" : "s")} skipped so far: non-finite gradients with a finite loss");
            }

            observer.EpochEnded(metrics, isBest);
        }

        return new TrainResult(history, bestEpoch, bestTop1, false, elapsedBefore + clock.Elapsed.TotalSeconds, model.Metadata);
    }

    /// <summary>Top-1, top-5 (percent) and mean cross-entropy of a model on a dataset, in eval mode, normalised as the model records.</summary>
    public static EvalResult Evaluate(Res2NetBackbone model, ImageDataset test, int batchSize = 500, int? imageSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var maker = new BatchMaker(test, model.Config.InChannels, imageSize ?? Math.Min(test.Height, test.Width), model.Metadata.Preprocess);
        return Evaluate(model, maker, test.Count, batchSize);
    }

    /// <summary>The same on a model opened for inference (e.g. an INT8 ONNX export), normalised as its metadata records.</summary>
    public static EvalResult Evaluate(Predictor predictor, ImageDataset test, int batchSize = 500, int? imageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        var maker = new BatchMaker(test, predictor.Metadata.InChannels, imageSize ?? Math.Min(test.Height, test.Width), predictor.Metadata.Preprocess);
        return Evaluate(x => predictor.Logits(x.ToFloatTensor(), cancellationToken).ToTensor(), maker, test.Count, batchSize);
    }

    private static EvalResult Evaluate(Res2NetBackbone model, BatchMaker maker, int count, int batchSize)
    {
        model.eval();
        using var inference = inference_mode();
        var dtype = model.parameters().First().dtype;   // bfloat16 when converted for inference (evaluate --precision bf16)
        return Evaluate(x => model.call(x.to(dtype)).to(ScalarType.Float32), maker, count, batchSize);
    }

    private static EvalResult Evaluate(Func<Tensor, Tensor> logitsOf, BatchMaker maker, int count, int batchSize)
    {
        double lossSum = 0;
        long top1 = 0, top5 = 0;
        var indices = Enumerable.Range(0, count).ToArray();
        for (var start = 0; start < count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(batchSize, count - start);
            var (x, y) = maker.Make(indices.AsSpan(start, n), Augmentation.None, null);
            var logits = logitsOf(x);
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            var k = Math.Min(5, (int)logits.shape[1]);
            var (_, top) = logits.topk(k, dim: 1);
            var hits = top.eq(y.unsqueeze(1));
            top1 += hits.narrow(1, 0, 1).sum().item<long>();
            top5 += hits.sum().item<long>();
        }

        return new EvalResult(100.0 * top1 / count, 100.0 * top5 / count, lossSum / count, count);
    }

    private static (double Loss, long Correct) TrainStep(Res2NetBackbone model, Optimizer optimizer, BatchMaker maker,
        ReadOnlySpan<int> indices, TrainOptions options, Random random, double lr)
    {
        using var scope = NewDisposeScope();
        var (x, y) = maker.Make(indices, options.Augmentation, random);
        optimizer.ZeroGrad();
        var logits = model.call(x);
        var loss = nn.functional.cross_entropy(logits, y, label_smoothing: options.LabelSmoothing);
        var value = loss.item<float>();
        if (!float.IsFinite(value))
        {
            return (value, 0);
        }

        loss.backward();
        if (!optimizer.GradientsFinite())
        {
            return (value, -1);
        }

        optimizer.Step(lr);
        var correct = logits.detach().argmax(1).eq(y).sum().item<long>();
        return (value, correct);
    }

    /// <summary>
    /// Holds OutDir for this run (an exclusive lock on its <c>.lock</c> file, released when the run ends, even by a
    /// kill): two runs writing one folder would interleave their metrics and overwrite each other's checkpoints.
    /// </summary>
    private static OutDirLock LockOutDir(string outDir)
    {
        var folder = FileSystemEntry.Of(outDir);
        if (folder.Kind is not (EntryKind.Missing or EntryKind.Directory))
        {
            throw new Res2NetException($"{outDir}: the output folder is {folder.Describe()}, not a folder.");
        }

        Directory.CreateDirectory(outDir);

        // Every file a run writes there must be a regular file or missing: found now, not after an epoch of work.
        foreach (var name in new[] { "best.pth", "last.pth", TrainingCheckpoint.StateFile, MetricsLog.FileName, TrainingChart.FileName,
            ImageNetLabels.ClassesFileName, "samples.npy", "samples.txt" })
        {
            var output = FileSystemEntry.Of(Path.Combine(outDir, name), followLinks: false);
            if (output.Kind is not (EntryKind.Missing or EntryKind.Regular))
            {
                throw new Res2NetException($"{outDir}: it holds {name}, which is {output.Describe()}; a run writes only regular files there (remove it).");
            }
        }

        var path = Path.Combine(outDir, ".lock");
        var entry = FileSystemEntry.Of(path, followLinks: false);
        if (entry.Kind is not (EntryKind.Missing or EntryKind.Regular))
        {
            throw new Res2NetException($"{outDir}: it holds .lock, which is {entry.Describe()}, not a regular file; remove it.");
        }

        // The holder's process id beside the lock (the lock file itself cannot be read while it is held).
        var holder = path + ".pid";
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            AtomicFile.WriteAllBytes(holder, System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
            return new OutDirLock(stream, holder);
        }
        catch (IOException)
        {
            string pid;
            try
            {
                pid = System.Text.Encoding.ASCII.GetString(InputFiles.ReadAllBytes(holder, 32, "lock holder")).Trim();
            }
            catch (Res2NetException)
            {
                pid = "unknown";
            }

            throw new Res2NetException($"{outDir}: the folder is in use by another training run (process {pid}); wait for it to end or choose another folder.");
        }
    }

    /// <summary>
    /// The top-level modules before stage <paramref name="stages"/> + 1 (the stem and the first stages, as mmdetection's
    /// frozen_stages counts them); all of them but the classifier when every stage is frozen; none for null.
    /// </summary>
    private static List<nn.Module> FrozenModules(Res2NetBackbone model, int? stages)
    {
        var result = new List<nn.Module>();
        if (stages is not { } n)
        {
            return result;
        }

        if (n > model.Stages.Count)
        {
            throw new InvalidOptionException(nameof(TrainOptions.FreezeStages), $"must be at most {model.Stages.Count} for {model.ModelName}, which has {model.Stages.Count} stages (got {n})");
        }

        var stop = n < model.Stages.Count ? model.Stages[n].ModuleName : null;
        foreach (var (name, module) in model.named_children())
        {
            if (name == stop || model.ClassifierKeys.Any(k => k.StartsWith(name + ".", StringComparison.Ordinal)))
            {
                break;
            }

            result.Add(module);
        }

        return result;
    }

    /// <summary>Training mode, except frozen modules (their batch norms keep their statistics) and, with norm eval, every batch norm.</summary>
    private static void SetTrainMode(Res2NetBackbone model, List<nn.Module> frozen, bool normEval)
    {
        model.train();
        foreach (var module in frozen)
        {
            module.eval();
        }

        if (normEval)
        {
            foreach (var (_, m) in model.named_modules())
            {
                if (m is TorchSharp.Modules.BatchNorm2d bn)
                {
                    bn.eval();
                }
            }
        }
    }

    /// <summary>
    /// The transform a trained model's photos get: the registry's normalisation for its channels (the one grayscale
    /// rule, <see cref="PreprocessConfig.ForChannels"/>), at the training image size, nothing cut away (the training
    /// images were whole); fine-tuning from recorded weights keeps their transform at the new size.
    /// </summary>
    private static PreprocessConfig TrainingPreprocess(ModelInfo info, ModelCheckpoint? initial, int inChannels, int size)
    {
        var start = initial?.MetadataRecorded == true ? initial.Metadata.Preprocess : info.Preprocess;
        return start.ForChannels(inChannels) with { InputSize = size, CropPct = 1.0 };
    }

    /// <summary>
    /// A generator seed from (seed, epoch, step) that is the same in every process: HashCode.Combine is randomised per
    /// process, which made runs with the same --seed (and resumed runs) differ. SplitMix64's finaliser mixes the parts.
    /// </summary>
    internal static int StableSeed(int seed, int epoch, int step, int salt)
    {
        var z = ((ulong)(uint)seed << 32) ^ ((ulong)(uint)epoch << 16) ^ (uint)step ^ ((ulong)(uint)salt * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    /// <summary>A shuffled order of the training set that depends only on (seed, epoch).</summary>
    private static int[] Permutation(int n, int seed, int epoch)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random(StableSeed(seed, epoch, -1, 0x2545f491)).Shuffle(order);
        return order;
    }

    /// <summary>The first <paramref name="n"/> images of a class-balanced interleaving (small quick runs keep every class).</summary>
    private static ImageDataset Interleaved(ImageDataset d, int n)
    {
        var byClass = Enumerable.Range(0, d.NumClasses).Select(c => new Queue<int>()).ToArray();
        for (var i = 0; i < d.Count; i++)
        {
            byClass[d.Labels[i]].Enqueue(i);
        }

        var picked = new List<int>(n);
        while (picked.Count < n)
        {
            foreach (var q in byClass)
            {
                if (q.Count > 0 && picked.Count < n)
                {
                    picked.Add(q.Dequeue());
                }
            }
        }

        return d.Subset(picked);
    }

    private static TrainOptionsSnapshot Snapshot(TrainOptions o) => new(o.Model, o.BatchSize, o.PeakLr, o.MinLr, o.WarmupEpochs,
        o.Optimizer, o.Momentum, o.Nesterov, o.WeightDecay, o.LabelSmoothing, o.Augmentation.CropPadding, o.Augmentation.HorizontalFlip,
        o.Augmentation.RandomResizedCrop, o.FreezeBackbone, o.BackboneLrScale, o.TrainLimit, o.FreezeStages, o.NormEval);

    private static TrainOptions Restore(TrainOptions current, TrainOptionsSnapshot s) => current with
    {
        Model = s.Model,
        BatchSize = s.BatchSize,
        Lr = s.PeakLr,
        MinLr = s.MinLr,
        WarmupEpochs = s.WarmupEpochs,
        Optimizer = s.Optimizer,
        Momentum = s.Momentum,
        Nesterov = s.Nesterov,
        WeightDecay = s.WeightDecay,
        LabelSmoothing = s.LabelSmoothing,
        FreezeBackbone = s.FreezeBackbone,
        FreezeStages = s.FreezeStages,
        NormEval = s.NormEval,
        BackboneLrScale = s.BackboneLrScale,
        TrainLimit = s.TrainLimit,
        Augmentation = new Augmentation { CropPadding = s.CropPadding, HorizontalFlip = s.HorizontalFlip, RandomResizedCrop = s.RandomResizedCrop },
        InitialWeights = null,
    };

    private sealed class NullObserver : ITrainingObserver;

    /// <summary>The held lock on an output folder: released, and the holder's id removed, when the run ends.</summary>
    private sealed class OutDirLock(FileStream stream, string holder) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                File.Delete(holder);
            }
            catch (IOException)
            {
                // The next run overwrites it; the lock itself is what counts.
            }

            stream.Dispose();
        }
    }
}
