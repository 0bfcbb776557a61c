namespace Res2Net.Export;

/// <summary>The observed range of one value of the graph during calibration.</summary>
/// <param name="Min">The smallest value seen.</param>
/// <param name="Max">The largest value seen.</param>
internal readonly record struct ValueRange(float Min, float Max);
