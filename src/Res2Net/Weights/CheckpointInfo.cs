namespace Res2Net.Weights;

/// <summary>What <see cref="ModelCheckpoint.Inspect"/> finds in a checkpoint file, whether or not it fits a registered model.</summary>
public sealed record CheckpointInfo
{
    /// <summary>The file.</summary>
    public required string Path { get; init; }

    /// <summary>The container: <c>pytorch-zip</c>, <c>pytorch-legacy</c> or <c>safetensors</c>.</summary>
    public required string Container { get; init; }

    /// <summary>The key layout the tensors were saved in.</summary>
    public required CheckpointLayout Layout { get; init; }

    /// <summary>Tensors in the file.</summary>
    public required int TensorCount { get; init; }

    /// <summary>Tensors of the backbone under the official keys (after mmdetection's or detectron2's names are mapped).</summary>
    public required int OfficialTensorCount { get; init; }

    /// <summary>How many tensors of each element type.</summary>
    public required IReadOnlyDictionary<DType, int> DTypeCounts { get; init; }

    /// <summary>Bytes of tensor data.</summary>
    public required long Bytes { get; init; }

    /// <summary>Elements of every tensor but batch-norm statistics (running mean and variance, batch counts).</summary>
    public required long Parameters { get; init; }

    /// <summary>The registered models whose shapes the tensors fit exactly, with the classes their classifier has.</summary>
    public required IReadOnlyList<(string Model, int NumClasses)> Fits { get; init; }
}
