namespace Res2Net.Client;

/// <summary>How an <see cref="InferenceClient"/> talks to its server.</summary>
public enum InferenceTransport
{
    /// <summary>HTTP/REST with JSON, and the binary tensor extension where the options ask for it.</summary>
    Rest,

    /// <summary>gRPC over HTTP/2 (<c>http://</c> addresses use HTTP/2 without TLS).</summary>
    Grpc,
}
