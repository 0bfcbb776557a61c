namespace Res2Net.Models;

/// <summary>
/// Where a model's published weights are: the official <c>Url</c>, whose file name ends in the first 8 hex digits of
/// the file's SHA-256, as torch.hub expects.
/// </summary>
/// <param name="Url">The official download address.</param>
public sealed record PretrainedWeights(string Url)
{
    /// <summary>Base of the official URLs; <c>RES2NET_MIRROR</c> replaces it.</summary>
    public const string OfficialBaseUrl = "https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/";

    /// <summary>The file name at the end of the URL.</summary>
    public string FileName => Url[(Url.LastIndexOf('/') + 1)..];

    /// <summary>The hash prefix in the file name (<c>name-06e79181.pth</c> gives <c>06e79181</c>).</summary>
    public string Sha256Prefix
    {
        get
        {
            var stem = Path.GetFileNameWithoutExtension(FileName);
            return stem[(stem.LastIndexOf('-') + 1)..];
        }
    }
}
