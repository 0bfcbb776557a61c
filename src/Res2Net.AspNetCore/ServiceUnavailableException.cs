namespace Res2Net.AspNetCore;

/// <summary>
/// The classifier cannot take the request now: its queue is full, the request waited longer than the timeout, the
/// model is still loading or the service is stopping. HTTP answers 503 with <see cref="RetryAfter"/>.
/// </summary>
public sealed class ServiceUnavailableException : Res2NetException
{
    /// <summary>An error with its message and the wait to suggest.</summary>
    public ServiceUnavailableException(string message, TimeSpan retryAfter)
        : base(message)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long the client should wait before trying again.</summary>
    public TimeSpan RetryAfter { get; }
}
