namespace Res2Net.Client;

/// <summary>The signature of one input or output of a model.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Datatype">The protocol's datatype name, for example "FP32" (a string: a server may name one this client does not know).</param>
/// <param name="Shape">The dimensions; -1 marks a dimension whose size varies (usually the batch).</param>
public sealed record TensorMetadata(string Name, string Datatype, IReadOnlyList<long> Shape);
