namespace Res2Net.Models;

/// <summary>Shape of one stage output: channels and total stride relative to the input.</summary>
public readonly record struct StageInfo(string Name, string ModuleName, int Channels, int Reduction);
