namespace Res2Net.Client;

/// <summary>
/// An inference server refused or failed a request, answered something this client cannot read, or could not be
/// reached. The message is the server's own error text where it sent one (after what was asked, for example
/// <c>model 'resnet': ...</c>); <see cref="HttpStatus"/> or <see cref="GrpcStatus"/> says how it answered.
/// </summary>
public sealed class InferenceServerException : Exception
{
    /// <summary>An error with a message only.</summary>
    public InferenceServerException()
        : this("The inference server failed the request.")
    {
    }

    /// <summary>An error with <paramref name="message"/> only.</summary>
    public InferenceServerException(string message)
        : base(message)
    {
    }

    /// <summary>An error with <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public InferenceServerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>An error with the status the server answered with, and how long it asked the client to wait, where it did.</summary>
    public InferenceServerException(string message, int? httpStatus, string? grpcStatus, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException)
    {
        HttpStatus = httpStatus;
        GrpcStatus = grpcStatus;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status code of the answer (REST), or null when there was none (gRPC, or no answer at all).</summary>
    public int? HttpStatus { get; }

    /// <summary>The gRPC status code's name, for example "InvalidArgument" or "NotFound" (gRPC), or null.</summary>
    public string? GrpcStatus { get; }

    /// <summary>How long the server asked the client to wait before trying again (a <c>Retry-After</c>), or null.</summary>
    public TimeSpan? RetryAfter { get; }
}
