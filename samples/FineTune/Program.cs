// Trains and fine-tunes with the Res2Net package (TorchSharp), offline:
//   FineTune [OUTDIR]
// 1. a forward pass of a full-size registered model (LibTorch loads, the package's GLIBCXX fix works);
// 2. a short training run of a small Res2Net on the Fashion-MNIST sample embedded in the package;
// 3. fine-tuning: its classifier only, from the checkpoint step 2 wrote (the backbone frozen).
using Res2Net.Engines;
using Res2Net.Models;
using Res2Net.Training;
using static TorchSharp.torch;

var outDir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "res2net-finetune-sample");

using (var model = await Res2NetBackbone.CreateAsync(ModelSource.Untrained("res2net50_26w_4s")))
using (var scope = NewDisposeScope())
using (no_grad())
{
    model.eval();
    var logits = model.call(randn(1, 3, 224, 224));
    Console.WriteLine($"res2net50_26w_4s: {model.ParameterCount():N0} parameters, logits ({string.Join(", ", logits.shape)})");
}

var data = DatasetLoader.Load(null);
var first = new Trainer(new TrainOptions
{
    Model = "res2net_cifar_tiny", Epochs = 2, TrainLimit = 600, TestLimit = 200, OutDir = Path.Combine(outDir, "scratch"),
}, data).Run();
Console.WriteLine($"from scratch: top-1 {first.BestTop1:F2}% after {first.Epochs.Count} epochs");

var tuned = new Trainer(new TrainOptions
{
    Model = "res2net_cifar_tiny", Epochs = 1, TrainLimit = 600, TestLimit = 200, FreezeBackbone = true, Lr = 0.05,
    InitialWeights = Path.Combine(outDir, "scratch", "best.pth"), OutDir = Path.Combine(outDir, "tuned"),
}, data).Run();
Console.WriteLine($"fine-tuned classifier: top-1 {tuned.BestTop1:F2}%; weights in {Path.Combine(outDir, "tuned", "best.pth")}");
return 0;
