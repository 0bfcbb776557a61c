using System.CommandLine;
using System.Globalization;
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Training;
using Res2Net.Weights;

namespace Res2Net.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "Registered model to train (see 'res2net models').", DefaultValueFactory = _ => new TrainOptions().Model };
        var data = new Option<string?>("--data", "-d") { Description = "Dataset directory: IDX files (MNIST, Fashion-MNIST), CIFAR-10/100 binary batches, or an ImageFolder tree (train/ and val/ or test/); default: the embedded Fashion-MNIST sample." };
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epochs to train.", DefaultValueFactory = _ => new TrainOptions().Epochs };
        var batchSize = new Option<int>("--batch-size", "-b") { Description = "Images per step.", DefaultValueFactory = _ => new TrainOptions().BatchSize };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate after warm-up (default: 0.1 for SGD, 0.002 for AdamW, times batch/128)." };
        var minLr = new Option<double>("--min-lr") { Description = "Learning rate the cosine schedule ends at.", DefaultValueFactory = _ => 0 };
        var warmup = new Option<double>("--warmup") { Description = "Epochs of linear warm-up.", DefaultValueFactory = _ => new TrainOptions().WarmupEpochs };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd (Nesterov momentum) or adamw.", DefaultValueFactory = _ => "sgd" };
        optimizer.AcceptOnlyFromAmong("sgd", "adamw");
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9 };
        var noNesterov = new Option<bool>("--no-nesterov") { Description = "Plain (heavy-ball) momentum instead of Nesterov's." };
        var weightDecay = new Option<double>("--weight-decay", "--wd") { Description = "Weight decay of convolution and linear weights (norms and biases get none).", DefaultValueFactory = _ => new TrainOptions().WeightDecay };
        var smoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing of the training loss.", DefaultValueFactory = _ => new TrainOptions().LabelSmoothing };
        var cropPadding = new Option<int>("--crop-padding") { Description = "Random crop after padding by this many pixels (0: off).", DefaultValueFactory = _ => new Augmentation().CropPadding };
        var noFlip = new Option<bool>("--no-flip") { Description = "No random horizontal flip (use for digits and text)." };
        var rrc = new Option<bool>("--random-resized-crop") { Description = "RandomResizedCrop instead of the padded crop (for larger images)." };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, shuffling and augmentation.", DefaultValueFactory = _ => new TrainOptions().Seed };
        var threads = new Option<int?>("--threads") { Description = "LibTorch threads (default: one per core)." };
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: last.pth, best.pth, last.state, metrics.jsonl, chart.png.", DefaultValueFactory = _ => "runs/train" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last.state." };
        var weights = new Option<string?>("--weights", "-w") { Description = "Start from this checkpoint (fine-tuning); the classifier is replaced if its class count differs." };
        var pretrained = new Option<bool>("--pretrained") { Description = "Start from the model's published weights (downloaded once into the cache)." };
        var freeze = new Option<bool>("--freeze-backbone") { Description = "Train only the classifier." };
        var freezeStages = new Option<int?>("--freeze-stages")
        {
            Description = "Freeze the stem and the first N stages, their batch norms included (mmdetection's frozen_stages): 0 the stem only.",
        };
        var normEval = new Option<bool>("--norm-eval") { Description = "Keep every batch norm's running statistics as loaded while training (mmdetection's norm_eval; for small batches)." };
        var backboneLr = new Option<double>("--backbone-lr-scale") { Description = "Learning-rate multiplier of everything but the classifier.", DefaultValueFactory = _ => 1 };
        var grayStem = new Option<bool>("--gray-stem") { Description = "Grayscale data on a pretrained RGB model: a 1-channel stem (RGB filters summed) instead of repeating the channel." };
        var imageSize = new Option<int?>("--image-size") { Description = "Model input side (default: the dataset's; ImageFolder images are stored at this size, default 32)." };
        var trainLimit = new Option<int?>("--train-limit") { Description = "Use only this many training images (class-balanced), for quick runs." };
        var testLimit = new Option<int?>("--test-limit") { Description = "Evaluate on only this many test images (class-balanced)." };
        var samples = new Option<int>("--export-samples") { Description = "Also write this many test images, normalised, to OUT/samples.npy (labels in samples.txt).", DefaultValueFactory = _ => 0 };

        var command = new Command("train", "Train or fine-tune a model on a dataset, with a checkpoint after every epoch.")
        {
            model, data, epochs, batchSize, lr, minLr, warmup, optimizer, momentum, noNesterov, weightDecay, smoothing, cropPadding, noFlip,
            rrc, seed, threads, outDir, resume, weights, pretrained, freeze, freezeStages, normEval, backboneLr, grayStem, imageSize, trainLimit, testLimit, samples,
        };
        command.SetAction((parse, _) => Run.GuardedAsync(parse, async cancel =>
        {
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            string? initial = parse.GetValue(weights);
            if (parse.GetValue(pretrained))
            {
                if (initial is not null)
                {
                    throw new InvalidOptionException("--pretrained", "and --weights exclude each other (both say where training starts from)");
                }

                var source = ModelSource.Pretrained(info.Name);
                using var download = new ModelFlags.DownloadReport(source);
                initial = await ModelCheckpoint.DownloadAsync(info.Name, null, download, cancel);
            }

            var options = new TrainOptions
            {
                Model = info.Name,
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                Lr = parse.GetValue(lr),
                MinLr = parse.GetValue(minLr),
                WarmupEpochs = parse.GetValue(warmup),
                Optimizer = parse.GetValue(optimizer) == "adamw" ? OptimizerKind.AdamW : OptimizerKind.Sgd,
                Momentum = parse.GetValue(momentum),
                Nesterov = !parse.GetValue(noNesterov),
                WeightDecay = parse.GetValue(weightDecay),
                LabelSmoothing = parse.GetValue(smoothing),
                Augmentation = new Augmentation { CropPadding = parse.GetValue(cropPadding), HorizontalFlip = !parse.GetValue(noFlip), RandomResizedCrop = parse.GetValue(rrc) },
                Seed = parse.GetValue(seed),
                Threads = parse.GetValue(threads),
                OutDir = parse.GetValue(outDir),
                Resume = parse.GetValue(resume),
                InitialWeights = initial,
                FreezeBackbone = parse.GetValue(freeze),
                FreezeStages = parse.GetValue(freezeStages),
                NormEval = parse.GetValue(normEval),
                BackboneLrScale = parse.GetValue(backboneLr),
                GrayscaleStem = parse.GetValue(grayStem),
                ImageSize = parse.GetValue(imageSize),
                TrainLimit = parse.GetValue(trainLimit),
                TestLimit = parse.GetValue(testLimit),
            };
            options.Validate();

            // ImageFolder photos are stored at the model's own input size (32 for the small-image models), in colour unless a
            // gray stem is asked for; IDX and CIFAR keep their own.
            var splits = DatasetLoader.Load(parse.GetValue(data), options.ImageSize ?? info.Preprocess.InputSize,
                options.GrayscaleStem ? 1 : 3);
            Console.Error.WriteLine($"data: {parse.GetValue(data) ?? DatasetLoader.EmbeddedName} ({splits.Format}, {splits.Train.NumClasses} classes)");

            {
                var observer = new ProgressObserver();
                var result = await Task.Run(() => new Trainer(options, splits, observer).Run(cancel), CancellationToken.None);
                observer.Finish();
                if (options.OutDir is not null && parse.GetValue(samples) > 0)
                {
                    SampleExport.Write(splits.Test, parse.GetValue(samples), options.OutDir, result.Metadata);
                }

                if (result.BestEpoch > 0)
                {
                    var best = result.Epochs.FirstOrDefault(e => e.Epoch == result.BestEpoch);
                    // Plain lines (no markup): Spectre would wrap them at 80 columns in a log file.
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"best: epoch {result.BestEpoch}, top-1 {result.BestTop1:F2}%{(best is null ? "" : $", top-5 {best.ValTop5:F2}%, loss {best.ValLoss:F4}")}; {result.Seconds / 60:F1} min in all; files in {options.OutDir ?? "-"}"));
                }

                return result.Cancelled ? Run.Interrupted : Run.Ok;
            }
        }));
        return command;
    }

    /// <summary>One progress bar per epoch on stderr with running loss, accuracy and images per second.</summary>
    private sealed class ProgressObserver : ITrainingObserver
    {
        private readonly bool live = StdErr.IsTerminal;
        private Progress? bar;
        private string status = "";

        public void Info(string message) => Console.Error.WriteLine(Errors.Translate(message));

        public void EpochStarted(int epoch, int epochs, int steps, int firstStep)
        {
            Finish();
            if (live)
            {
                bar = Progress.Start($"epoch {epoch}/{epochs}", steps);
                bar.Report(firstStep);
            }
        }

        public void Step(StepProgress p)
        {
            if (bar is null)
            {
                // Not a terminal (a log file): a plain line every tenth of the epoch instead of a bar.
                if (!live && p.Step % Math.Max(1, p.Steps / 10) == 0 && p.Step < p.Steps)
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"epoch {p.Epoch} step {p.Step}/{p.Steps}: loss {p.Loss:F4}, acc {p.Top1:F2}%, {p.ImagesPerSecond:F0} img/s"));
                }

                return;
            }

            status = string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch} loss {p.Loss:F4} acc {p.Top1:F2}% {p.ImagesPerSecond:F0} img/s");
            bar.Describe(status);
            bar.Report(p.Step);
        }

        public void Evaluating(int epoch) => bar?.Describe(status + " (evaluating)");

        public void EpochEnded(EpochMetrics m, bool best)
        {
            bar?.Describe(string.Create(CultureInfo.InvariantCulture, $"epoch {m.Epoch} loss {m.TrainLoss:F4} acc {m.TrainTop1:F2}% {m.ImagesPerSecond:F0} img/s"));
            Finish();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}: train loss {m.TrainLoss:F4}, test loss {m.ValLoss:F4}, top-1 {m.ValTop1:F2}%, top-5 {m.ValTop5:F2}%, {m.Seconds:F1} s, {m.ImagesPerSecond:F0} img/s{(best ? " (best)" : "")}"));
        }

        public void Finish()
        {
            bar?.Dispose();
            bar = null;
        }
    }
}
