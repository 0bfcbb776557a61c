namespace Res2Net.Client.Internal;

/// <summary>Tries again after HTTP 503 or gRPC UNAVAILABLE, and after nothing else: other failures will not mend by waiting.</summary>
internal static class Retry
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(0.5);

    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> attempt, InferenceClientOptions options, CancellationToken cancellationToken)
    {
        for (var tried = 0; ; tried++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (InferenceServerException e) when (tried < options.MaxRetries && IsRetryable(e))
            {
                // The token ends the wait at once: Task.Delay throws as soon as it is cancelled.
                await Task.Delay(DelayBefore(tried + 1, e.RetryAfter, options), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static bool IsRetryable(InferenceServerException e) => e.HttpStatus == 503 || e.GrpcStatus == "Unavailable";

    /// <summary>The wait before retry number <paramref name="retry"/> (1 for the first): the server's wish, else 0.5 s doubling; at most MaxRetryDelay.</summary>
    public static TimeSpan DelayBefore(int retry, TimeSpan? retryAfter, InferenceClientOptions options)
    {
        var delay = retryAfter ?? TimeSpan.FromTicks(FirstDelay.Ticks << Math.Min(retry - 1, 30));
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        return delay < options.MaxRetryDelay ? delay : options.MaxRetryDelay;
    }
}
