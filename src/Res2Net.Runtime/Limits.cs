namespace Res2Net;

/// <summary>
/// Every bound the Res2Net libraries put on untrusted input (photos, checkpoints, arrays, datasets, training states,
/// caches, downloads and requests), defined once here and used where the input is read. docs/limits.md lists each one
/// by name and value; a test keeps the two equal.
/// </summary>
public static class Limits
{
    /// <summary>The largest image file read, in bytes: a 64-megapixel photo needs far less, even as an uncompressed BMP.</summary>
    public const long MaxImageFileBytes = 256L << 20;

    /// <summary>
    /// The most pixels decoded from one image (an 8000 x 8000 photo, past any phone's): decoding holds about 7 bytes a
    /// pixel, so one image costs at most about 450 MB. PIL's own decompression-bomb limit (179 megapixels) allows 1.2 GB.
    /// </summary>
    public const long MaxImagePixels = 64L << 20;

    /// <summary>The largest side of a network input, in pixels.</summary>
    public const int MaxInputSide = 8192;

    /// <summary>The most pixels an image resized whole may have (Grad-CAM over the full photo).</summary>
    public const long MaxResizedPixels = 16L << 20;

    /// <summary>The longest metadata record (JSON) read from a checkpoint, a safetensors header or an ONNX file, in characters.</summary>
    public const int MaxMetadataChars = 64 << 20;

    /// <summary>The largest <c>classes.txt</c> read beside a weights file, in bytes.</summary>
    public const long MaxClassesFileBytes = 64L << 20;

    /// <summary>The most classes a model or a metadata record may have.</summary>
    public const int MaxClasses = 1_000_000;

    /// <summary>The longest class or model name a metadata record may hold, in characters.</summary>
    public const int MaxNameLength = 1024;

    /// <summary>The most input channels a model may be built with (RGB plus one).</summary>
    public const int MaxInChannels = 4;

    /// <summary>
    /// The most tensor bytes one checkpoint may hold, in all (1.5 GiB; the largest Res2Net training state, with AdamW,
    /// is 0.75 GB). Checked before each tensor is read.
    /// </summary>
    public const long MaxCheckpointBytes = 3L << 29;

    /// <summary>
    /// How much more than its storage a checkpoint's views may copy out, in bytes (on top of twice the storage):
    /// <c>expand()</c> and other stride-0 views could otherwise turn a few bytes into gigabytes.
    /// </summary>
    public const long MaxViewOverheadBytes = 64L << 20;

    /// <summary>The largest pickle (a zip checkpoint's <c>data.pkl</c>) read, in bytes.</summary>
    public const long MaxPickleBytes = 1L << 30;

    /// <summary>The most pickle opcodes a checkpoint may run.</summary>
    public const long MaxPickleOpcodes = 4_000_000;

    /// <summary>The most pickle memo entries a checkpoint may make.</summary>
    public const int MaxPickleMemo = 1_000_000;

    /// <summary>The most values a checkpoint's pickle may have on its stack at once.</summary>
    public const int MaxPickleStack = 1_000_000;

    /// <summary>The deepest nesting of containers in a checkpoint's pickle.</summary>
    public const int MaxPickleDepth = 64;

    /// <summary>The largest safetensors header, in bytes.</summary>
    public const long MaxSafeTensorsHeaderBytes = 100_000_000;

    /// <summary>The largest <c>.npy</c> array read at once, in bytes (1 GiB: 8,000 images of 3 x 224 x 224 in float32).</summary>
    public const long MaxNpyBytes = 1L << 30;

    /// <summary>The largest array of an IDX dataset file (gzipped or not), in bytes; a gzip file is inflated no further than its header promises.</summary>
    public const long MaxIdxBytes = 1L << 30;

    /// <summary>The largest CIFAR batch file, in bytes.</summary>
    public const long MaxCifarBatchBytes = 256L << 20;

    /// <summary>The most files and folders one folder walk visits.</summary>
    public const int MaxFolderEntries = 2_000_000;

    /// <summary>The largest progress record of a training state (<c>last.state</c>), in bytes.</summary>
    public const int MaxTrainingProgressBytes = 64 << 10;

    /// <summary>The largest metrics log (<c>metrics.jsonl</c>) a resumed run reads back, in bytes.</summary>
    public const long MaxMetricsLogBytes = 32L << 20;

    /// <summary>How long a download waits for a TCP (and TLS) connection, in seconds.</summary>
    public const int DownloadConnectSeconds = 10;

    /// <summary>
    /// How long a download waits for the response headers, and the window over which the body must keep arriving at
    /// <see cref="DownloadMinBytesPerSecond"/>, in seconds.
    /// </summary>
    public const int DownloadStallSeconds = 15;

    /// <summary>The slowest download accepted, averaged over each <see cref="DownloadStallSeconds"/> window, in bytes a second.</summary>
    public const int DownloadMinBytesPerSecond = 4096;

    /// <summary>The longest a whole download may take, in seconds.</summary>
    public const int DownloadDeadlineSeconds = 3600;

    /// <summary>
    /// What a published weights file may hold beyond its tensors' bytes, in bytes (the container: names, shapes, zip or
    /// pickle framing): a download stops as soon as more arrives than the tensors plus this.
    /// </summary>
    public const long DownloadOverheadBytes = 4L << 20;

    /// <summary>How old, in hours, a partial download left by a killed process must be before a later download removes it.</summary>
    public const int StalePartialHours = 24;

    /// <summary>The default size of the ONNX export cache folder, in bytes; the least recently used exports go first.</summary>
    public const long DefaultExportCacheBytes = 4L << 30;

    /// <summary>The most input sizes one engine keeps a session for at once; the least recently used is closed first.</summary>
    public const int MaxSessionsPerEngine = 4;

    /// <summary>The default largest HTTP request body, in bytes (settable: <c>MaxBodyBytes</c>, <c>--max-body-mb</c>).</summary>
    public const long DefaultMaxBodyBytes = 16L << 20;

    /// <summary>The default most pixels of one photo the service decodes (settable: <c>MaxPixels</c>).</summary>
    public const long DefaultServicePixels = 50_000_000;

    /// <summary>The default most photos in one service request (settable: <c>MaxImagesPerRequest</c>).</summary>
    public const int DefaultMaxImagesPerRequest = 64;

    /// <summary>The largest Triton model configuration (<c>config.pbtxt</c>) read, in bytes.</summary>
    public const long MaxModelConfigBytes = 1L << 20;

    /// <summary>The most models one Triton model repository may hold for the service.</summary>
    public const int MaxRepositoryModels = 256;

    /// <summary>The deepest nesting of a JSON request body the service reads.</summary>
    public const int MaxJsonDepth = 64;

    /// <summary>The default most images waiting for one model in the service (settable: <c>MaxQueue</c>, <c>--max-queue</c>).</summary>
    public const int DefaultMaxQueue = 64;

    /// <summary>The default longest a request waits for the model, in seconds (settable: <c>Timeout</c>, <c>--timeout-s</c>).</summary>
    public const int DefaultTimeoutSeconds = 30;

    /// <summary>How long the service waits for a request's headers, in seconds.</summary>
    public const int RequestHeadersSeconds = 10;

    /// <summary>The slowest request body the service accepts, in bytes a second, after <see cref="MinBodyRateGraceSeconds"/>.</summary>
    public const int MinBodyBytesPerSecond = 240;

    /// <summary>How long a request body may arrive slower than <see cref="MinBodyBytesPerSecond"/> at its start, in seconds.</summary>
    public const int MinBodyRateGraceSeconds = 5;
}
