namespace Res2Net.AspNetCore;

/// <summary>A body over the limit.</summary>
internal sealed class PayloadTooLargeException(long? length, long limit) : Exception(length is { } n
    ? $"The request body is {n:N0} bytes, more than the {limit:N0} this service takes."
    : $"The request body is larger than the {limit:N0} bytes this service takes.");
