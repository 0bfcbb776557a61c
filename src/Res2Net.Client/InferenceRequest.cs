using System.Collections.ObjectModel;

namespace Res2Net.Client;

/// <summary>One inference request: the model, the input tensors and which outputs to return.</summary>
public sealed record InferenceRequest
{
    /// <summary>The model to run.</summary>
    public required string Model { get; init; }

    /// <summary>The model version, or null to let the server choose (usually the latest ready version).</summary>
    public string? Version { get; init; }

    /// <summary>An id the server echoes back in <see cref="InferenceResult.Id"/>, or null for none.</summary>
    public string? Id { get; init; }

    /// <summary>The input tensors, in the order they are sent.</summary>
    public IReadOnlyList<InferTensor> Inputs { get; init; } = [];

    /// <summary>The outputs to return; empty returns every output of the model.</summary>
    public IReadOnlyList<RequestedOutput> Outputs { get; init; } = [];

    /// <summary>
    /// Request-level parameters, for example <c>priority</c> or <c>timeout</c>. Each value is a <see cref="string"/>,
    /// <see cref="bool"/>, <see cref="long"/> or <see cref="double"/> (an <see cref="int"/> is sent as a long and a
    /// <see cref="float"/> as a double); any other type is refused when the request is sent.
    /// </summary>
    public IReadOnlyDictionary<string, object> Parameters { get; init; } = ReadOnlyDictionary<string, object>.Empty;
}
