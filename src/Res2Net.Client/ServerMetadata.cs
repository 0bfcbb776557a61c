namespace Res2Net.Client;

/// <summary>What a server says about itself.</summary>
/// <param name="Name">The server's product name (Triton says "triton").</param>
/// <param name="Version">The server's product version.</param>
/// <param name="Extensions">The protocol extensions it implements, for example "binary_tensor_data" and "classification".</param>
public sealed record ServerMetadata(string Name, string Version, IReadOnlyList<string> Extensions);
