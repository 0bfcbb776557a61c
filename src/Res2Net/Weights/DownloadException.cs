namespace Res2Net.Weights;

/// <summary>
/// Pretrained weights that could not be downloaded, or a cached or downloaded file that was refused. The message is
/// one sentence that names the URL or file, says where the cache is and how to get around it (<c>--weights FILE</c>,
/// <c>RES2NET_MIRROR</c>).
/// </summary>
public sealed class WeightsDownloadException : Exception
{
    public WeightsDownloadException(string message) : base(message) { }

    public WeightsDownloadException(string message, Exception? inner) : base(message, inner) { }
}
