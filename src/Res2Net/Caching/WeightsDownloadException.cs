namespace Res2Net.Caching;

/// <summary>
/// Pretrained weights that could not be downloaded, or a cached or downloaded file that was refused. The message is
/// one sentence that names the URL or file, says where the cache is and how to get around it (a file of one's own,
/// <c>RES2NET_MIRROR</c>).
/// </summary>
public sealed class WeightsDownloadException : Res2NetException
{
    /// <summary>An error with a one-sentence message.</summary>
    public WeightsDownloadException(string message)
        : base(message)
    {
    }

    /// <summary>An error with a one-sentence message and its cause.</summary>
    public WeightsDownloadException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
