namespace Res2Net.Engines;

/// <summary>
/// How far a download is: <c>BytesReceived</c> of <c>TotalBytes</c> (null when the server sends no Content-Length)
/// for <c>FileName</c>. Reported once at the start, after every chunk, and once at the end.
/// </summary>
public readonly record struct DownloadProgress(string FileName, long BytesReceived, long? TotalBytes)
{
    /// <summary>The fraction done in [0, 1], or null when the total is unknown.</summary>
    public double? Fraction => TotalBytes is > 0 ? Math.Min(1.0, (double)BytesReceived / TotalBytes.Value) : null;
}
