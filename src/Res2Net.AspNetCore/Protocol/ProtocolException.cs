namespace Res2Net.AspNetCore.Protocol;

/// <summary>A protocol request the server refuses, with one sentence that names the part of the request at fault.</summary>
internal sealed class ProtocolException(ProtocolError error, string message) : Res2NetException(message)
{
    /// <summary>Whose fault it is.</summary>
    public ProtocolError Error { get; } = error;

    /// <summary>A malformed or inconsistent request (400).</summary>
    public static ProtocolException Bad(string message) => new(ProtocolError.BadRequest, message);
}
