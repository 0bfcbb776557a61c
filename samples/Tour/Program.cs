// A tour of the library (docs/models.md shows this file; scripts/check-packages.sh compiles it against the packages).
using Res2Net;
using Res2Net.Engines;
using Res2Net.Explain;
using Res2Net.Export;
using Res2Net.Imaging;
using Res2Net.Models;
using Res2Net.Weights;
using static TorchSharp.torch;

// Photos in, typed results out. Without a weights path the published weights are downloaded once into the cache.
using var predictor = await Predictor.LoadAsync("res2net50_26w_4s", weightsPath: "res2net50_26w_4s-06e79181.pth");
Prediction p = predictor.Predict("cat.jpg", topk: 5);
Console.WriteLine($"{p.Best.Label}: {p.Best.Prob:P1}");

// Thousands of photos: batched, decoding overlapped with compute, input order kept, a bad file reported in its place.
await foreach (var r in predictor.PredictManyAsync(["photos/", "more.npy"], topk: 1, new BatchOptions { BatchSize = 16 }))
    Console.WriteLine(r.Ok ? $"{r.Item.Path}: {r.Value!.Best.Label}" : r.Error);
float[][] embeddings = await predictor.EmbedAsync(["a.jpg", "b.png"]);      // pooled features, 2048 per photo

// Faster: bfloat16 on the torch engine (CPUs with AVX-512 BF16 or AMX), or an INT8 export on ONNX Runtime.
using var bf16 = await Predictor.LoadAsync("res2net50_26w_4s", "res2net50_26w_4s-06e79181.pth", EngineKind.Torch, Precision.BFloat16);
using var int8 = Predictor.Open("r50-int8.onnx");

// The preprocessing alone (torchvision's Resize(256) + CenterCrop(224) + Normalize, byte for byte), reusable.
var pre = new ImagePreprocessor(PreprocessConfig.ImageNet);
FloatTensor photo = pre.Process("cat.jpg");                                  // (3, 224, 224), plain floats

// The model itself: any registered name or alias, or your own configuration.
using var model = ModelCheckpoint.Read("res2net50_v1b_26w_4s-3cf99910.pth").CreateModel();  // strict; .pth or .safetensors
model.eval();
using (no_grad())
{
    using var batch = photo.ToTensor().unsqueeze(0);
    var logits = model.call(batch);                                          // (1, 1000)
    var embedding = model.ForwardEmbedding(batch);                           // (1, 2048)
    var stages = model.ForwardStages(batch);                                 // c2..c5 for detection / segmentation
}

// Dense features: output stride 8, the first two stages only (the pass stops after c3).
using var dense = ModelCheckpoint.Read("res2net50_v1b_26w_4s-3cf99910.pth").With(outputStride: 8).CreateModel();
dense.eval();
using (no_grad())
{
    var c2c3 = dense.ForwardStages(photo.ToTensor().unsqueeze(0), 2);
}

// Grad-CAM: where the network looked for a class, over the whole photo.
using var explainer = GradCamExplainer.Load("res2net50_26w_4s-06e79181.pth");
var photoPixels = ImageDecoder.Decode("cat.jpg");
CamRenderer.WritePng(photoPixels, explainer.Map(photoPixels, classIndex: null), "cat.cam.png");

// Export for ONNX Runtime (and a Triton repository), fine-tune, save back to a file PyTorch reads strictly.
OnnxExporter.Export(model, "model.onnx", new OnnxExportOptions { Size = 224 });
model.ResetClassifier(10);
ModelWeights.Save(model, "mine.pth");                                        // or "mine.safetensors"
using var custom = new Res2NetConfig { Layers = [2, 2, 2, 2], BaseWidth = 4, Cardinality = 8, InChannels = 1, OutputStride = 16 }.Build();
