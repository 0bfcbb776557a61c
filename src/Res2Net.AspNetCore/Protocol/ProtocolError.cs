namespace Res2Net.AspNetCore.Protocol;

/// <summary>Whose fault a protocol error is, which says its HTTP status and gRPC code.</summary>
internal enum ProtocolError
{
    /// <summary>A malformed or inconsistent request: HTTP 400, gRPC INVALID_ARGUMENT.</summary>
    BadRequest,

    /// <summary>An unknown model or version: HTTP 404, gRPC NOT_FOUND.</summary>
    NotFound,

    /// <summary>A request larger than the service takes: HTTP 413, gRPC RESOURCE_EXHAUSTED.</summary>
    TooLarge,

    /// <summary>Something the protocol has but this server does not do: HTTP 501, gRPC UNIMPLEMENTED.</summary>
    Unsupported,
}
