namespace Res2Net.AspNetCore.Protocol;

/// <summary>An inference request as REST and gRPC both carry it, parsed and bounded.</summary>
internal sealed class InferRequest
{
    /// <summary>The request's id, echoed in the answer.</summary>
    public string? Id { get; init; }

    /// <summary>The input tensors.</summary>
    public required IReadOnlyList<InferInput> Inputs { get; init; }

    /// <summary>The outputs asked for; null: every output of the model.</summary>
    public IReadOnlyList<RequestedOutput>? Outputs { get; init; }

    /// <summary>REST's <c>binary_data_output</c>: outputs not told otherwise come back as binary data.</summary>
    public bool BinaryDataOutput { get; init; }

    /// <summary>The request's own <c>timeout</c> (microseconds on the wire): a shorter wait for the model.</summary>
    public TimeSpan? Timeout { get; init; }
}
