using System.Collections.ObjectModel;

namespace Res2Net.Client;

/// <summary>A server's answer to an <see cref="InferenceRequest"/>.</summary>
public sealed record InferenceResult
{
    /// <summary>The model that answered.</summary>
    public required string ModelName { get; init; }

    /// <summary>The version that answered, or null when the server does not say.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The request's id as the server echoed it, or null when it sent none.</summary>
    public string? Id { get; init; }

    /// <summary>The output tensors, in the server's order.</summary>
    public IReadOnlyList<InferTensor> Outputs { get; init; } = [];

    /// <summary>
    /// Response-level parameters: <see cref="string"/>, <see cref="bool"/>, <see cref="long"/> or <see cref="double"/>
    /// values (a gRPC uint64 above <see cref="long.MaxValue"/> stays a <see cref="ulong"/>).
    /// </summary>
    public IReadOnlyDictionary<string, object> Parameters { get; init; } = ReadOnlyDictionary<string, object>.Empty;

    /// <summary>The output named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The result has no such output; the message names those it has.</exception>
    public InferTensor Output(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var output in Outputs)
        {
            if (output.Name == name)
            {
                return output;
            }
        }

        var names = Outputs.Count == 0 ? "none" : string.Join(", ", Outputs.Select(o => $"'{o.Name}'"));
        throw new KeyNotFoundException($"Model '{ModelName}' returned no output '{name}'; it returned {names}.");
    }
}
