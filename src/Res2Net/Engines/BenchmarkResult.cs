using System.Text.Json.Serialization;

namespace Res2Net.Engines;

/// <summary>One timed benchmark of an engine; the JSON names are the ones scripts read (`res2net bench --format json`).</summary>
public sealed record BenchmarkResult(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("images_per_second")] double ImagesPerSecond,
    [property: JsonPropertyName("median_ms")] double MedianMs,
    [property: JsonPropertyName("p95_ms")] double P95Ms,
    [property: JsonPropertyName("peak_rss_mb")] double PeakRssMb,
    [property: JsonPropertyName("gflops")] double Gflops,
    [property: JsonPropertyName("precision")] string Precision = "fp32");
