using System.Text.Json.Serialization;

namespace Res2Net.Engines;

/// <summary>
/// One timed benchmark of an engine, or of the whole photo pipeline (decode, preprocess, model, top-k); the JSON names
/// are the ones scripts read (`res2net bench --format json`).
/// </summary>
/// <param name="Model">The registered model.</param>
/// <param name="Engine">The engine ("torch", "onnx", or "onnx:FILE").</param>
/// <param name="Batch">Images per forward pass.</param>
/// <param name="ImagesPerSecond">Throughput.</param>
/// <param name="MedianMs">Median time of one batch, milliseconds.</param>
/// <param name="P95Ms">95th percentile of the time of one batch, milliseconds.</param>
/// <param name="PeakRssMb">Peak resident memory during the timed runs, megabytes.</param>
/// <param name="Gflops">Billions of floating-point operations per second (a multiply-accumulate counts as two).</param>
/// <param name="Precision">The engine's number format.</param>
/// <param name="What">"model" (one fixed batch, the model alone) or "pipeline" (photos from files to top-k).</param>
/// <param name="PreprocessMs">Pipeline only: decoding and preprocessing of one photo on one thread, milliseconds (mean).</param>
public sealed record BenchmarkResult(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("images_per_second")] double ImagesPerSecond,
    [property: JsonPropertyName("median_ms")] double MedianMs,
    [property: JsonPropertyName("p95_ms")] double P95Ms,
    [property: JsonPropertyName("peak_rss_mb")] double PeakRssMb,
    [property: JsonPropertyName("gflops")] double Gflops,
    [property: JsonPropertyName("precision"), JsonConverter(typeof(PrecisionNameConverter))] Precision Precision = Precision.Float32,
    [property: JsonPropertyName("what")] string What = "model",
    [property: JsonPropertyName("preprocess_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? PreprocessMs = null);
