namespace Res2Net.Client;

/// <summary>An output an inference request asks for, with how it should come back.</summary>
/// <param name="Name">The output's name.</param>
public sealed record RequestedOutput(string Name)
{
    /// <summary>
    /// Through the classification extension, return the top <c>k</c> classes of this output instead of its values (a
    /// BYTES tensor of "score:index[:label]" strings), or null for the values themselves.
    /// </summary>
    public int? Classification { get; init; }

    /// <summary>
    /// REST only: true to have the output sent as binary data, false as JSON; null follows
    /// <see cref="InferenceClientOptions.BinaryData"/>. gRPC always carries raw bytes.
    /// </summary>
    public bool? Binary { get; init; }
}
