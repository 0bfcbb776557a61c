// A tour of the library (docs/models.md shows this file; scripts/check-packages.sh compiles it against the packages).
using Res2Net;
using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Export;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;
using static TorchSharp.torch;

// One way in: a registered model's published weights (downloaded once into the cache), a checkpoint or an ONNX file,
// on the fastest exact engine unless the options say otherwise.
using var predictor = await Predictor.OpenAsync(ModelSource.Checkpoint("res2net50_26w_4s-06e79181.pth"));
Prediction p = predictor.Predict("cat.jpg", topk: 5);
Console.WriteLine($"{p.Best.Label}: {p.Best.Prob:P1} ({predictor.Metadata.License})");

// Thousands of photos: batched, decoding overlapped with compute, input order kept, a bad file reported in its place.
await foreach (var r in predictor.PredictManyAsync(["photos/", "more.npy"], topk: 1, new BatchOptions { BatchSize = 16 }))
    Console.WriteLine(r.Ok ? $"{r.Item.Path}: {r.Value!.Best.Label}" : r.Error);
await foreach (var e in predictor.EmbedManyAsync(["a.jpg", "b.png"]))  // pooled features, 2048 per photo
    Console.WriteLine(e.Ok ? $"{e.Item.Path}: {e.Value!.Length} values" : e.Error);

// Faster: bfloat16 on the torch engine (CPUs with AVX-512 BF16 or AMX), or an INT8 export on ONNX Runtime.
using var bf16 = await Predictor.OpenAsync(ModelSource.Pretrained("res2net50_26w_4s"),
    new ModelOptions { Engine = EngineKind.Torch, Precision = Precision.BFloat16 });
using var int8 = await Predictor.OpenAsync(ModelSource.Onnx("r50-int8.onnx"));

// Grad-CAM: where the network looked for a class, over the whole photo.
using var explained = await Predictor.OpenAsync(ModelSource.Pretrained("res2net50_26w_4s"), new ModelOptions { GradCam = true });
var photoPixels = ImageDecoder.Decode("cat.jpg");
CamRenderer.WritePng(photoPixels, explained.Explain(photoPixels), "cat.cam.png");

// The preprocessing alone (torchvision's Resize(256) + CenterCrop(224) + Normalize, byte for byte), reusable.
var pre = new ImagePreprocessor(PreprocessConfig.ImageNet);
FloatTensor photo = pre.Process("cat.jpg");                                  // (3, 224, 224), plain floats

// The model itself, for training, fine-tuning or your own TorchSharp code: published weights, a checkpoint, or an
// untrained architecture (random weights only when asked for).
using var model = await Res2NetBackbone.CreateAsync(ModelSource.Pretrained("res2net50_v1b_26w_4s"));
model.eval();
using (no_grad())
{
    using var batch = photo.ToTensor().unsqueeze(0);
    var logits = model.call(batch);                                          // (1, 1000)
    var embedding = model.ForwardEmbedding(batch);                           // (1, 2048)
    var stages = model.ForwardStages(batch);                                 // c2..c5 for detection / segmentation
}

// Dense features: output stride 8, the first two stages only (the pass stops after c3).
using var dense = await Res2NetBackbone.CreateAsync(ModelSource.Pretrained("res2net50_v1b_26w_4s"), new BackboneOptions { OutputStride = 8 });
dense.eval();
using (no_grad())
{
    var c2c3 = dense.ForwardStages(photo.ToTensor().unsqueeze(0), 2);
}

// What a checkpoint file holds, whether or not it fits a model.
CheckpointInfo described = ModelCheckpoint.Inspect("res2net50_v1b_26w_4s-3cf99910.pth");

// Export for ONNX Runtime (and a Triton repository), fine-tune, save back to a file PyTorch reads strictly.
OnnxExporter.Export(model, "model.onnx", new OnnxExportOptions { Size = 224 });
using var tuned = await Res2NetBackbone.CreateAsync(ModelSource.Pretrained("res2net50_26w_4s"), new BackboneOptions { NumClasses = 10 });
tuned.Save("mine.pth");                                                      // or "mine.safetensors"
using var custom = await Res2NetBackbone.CreateAsync(ModelSource.Untrained(
    new Res2NetConfig { Layers = [2, 2, 2, 2], BaseWidth = 4, Cardinality = 8, InChannels = 1, OutputStride = 16 }));
