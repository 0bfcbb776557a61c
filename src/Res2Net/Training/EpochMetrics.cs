using System.Text.Json.Serialization;

namespace Res2Net.Training;

/// <summary>One line of metrics.jsonl.</summary>
public sealed record EpochMetrics(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("train_top1")] double TrainTop1,
    [property: JsonPropertyName("val_loss")] double ValLoss,
    [property: JsonPropertyName("val_top1")] double ValTop1,
    [property: JsonPropertyName("val_top5")] double ValTop5,
    [property: JsonPropertyName("lr")] double Lr,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("images_per_second")] double ImagesPerSecond);
