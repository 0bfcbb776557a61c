namespace Res2Net.Models;

/// <summary>Parameters, multiply-accumulates and output shape of one part of a model (stem, a stage, the head).</summary>
public sealed record PartProfile(string Name, string Modules, long[] OutputShape, long Params, long Macs);
