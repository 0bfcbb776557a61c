namespace Res2Net.Engines;

/// <summary>One input row: an image file, or row <paramref name="Index"/> of a .npy batch.</summary>
/// <param name="Path">The file as it was given or found in a folder.</param>
/// <param name="Index">The row inside a .npy batch; 0 for images.</param>
public readonly record struct InputItem(string Path, int Index);
