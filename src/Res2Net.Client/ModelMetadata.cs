namespace Res2Net.Client;

/// <summary>What a server says about one model.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Versions">The versions that may be asked for (strings, for example "1").</param>
/// <param name="Platform">The framework or backend (informational; Triton says for example "onnxruntime_onnx").</param>
/// <param name="Inputs">The input signatures.</param>
/// <param name="Outputs">The output signatures.</param>
/// <param name="Properties">
/// Free-form properties: REST <c>properties</c>, and the string, number and boolean values of a REST <c>parameters</c>
/// object where a server sends one; gRPC <c>properties</c>. Empty when the server sends none.
/// </param>
public sealed record ModelMetadata(
    string Name,
    IReadOnlyList<string> Versions,
    string Platform,
    IReadOnlyList<TensorMetadata> Inputs,
    IReadOnlyList<TensorMetadata> Outputs,
    IReadOnlyDictionary<string, string> Properties);
