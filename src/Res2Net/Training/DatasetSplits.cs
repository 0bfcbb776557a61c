namespace Res2Net.Training;

/// <summary>A dataset's training and test splits.</summary>
public sealed record DatasetSplits(ImageDataset Train, ImageDataset Test, string Format);
