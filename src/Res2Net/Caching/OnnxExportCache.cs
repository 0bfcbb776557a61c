using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.IO;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Caching;

/// <summary>
/// Turns checkpoints into ONNX files for the ONNX engine, once: each export is named by a key over the model, the
/// weights' SHA-256, the exporter version and the export options, records the weights' hash and its key in its
/// <c>metadata_props</c>, and is checked against them whenever it is used. A cached file that was replaced, damaged or
/// made from other weights is rebuilt, never run.
/// </summary>
public sealed class OnnxExportCache
{
    /// <summary>Metadata key of the SHA-256 of the weights file an export was made from.</summary>
    public const string WeightsHashKey = "res2net.weights_sha256";

    /// <summary>Metadata key of the cache key an export was made for.</summary>
    public const string ExportKeyKey = "res2net.export_key";

    private readonly OnnxExportCacheOptions options;

    /// <summary>A cache with the given places (default: beside the weights, else $RES2NET_HOME/onnx).</summary>
    public OnnxExportCache(OnnxExportCacheOptions? options = null)
    {
        this.options = options ?? new OnnxExportCacheOptions();
    }

    /// <summary>
    /// An ONNX engine over exports of <paramref name="checkpoint"/>, one per input size (fixed height and width let ONNX
    /// Runtime fuse more; the batch stays dynamic), made on first use and cached. The engine lets go of the
    /// checkpoint's tensors once its first export exists; another input size reads the file again and refuses it if it
    /// changed meanwhile.
    /// </summary>
    public OnnxEngine OpenEngine(ModelCheckpoint checkpoint, OnnxEngineOptions? engine = null, OnnxExportOptions? template = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        template ??= new OnnxExportOptions();
        var weightsHash = HashFile(checkpoint.Path);
        var path = checkpoint.Path;
        var model = checkpoint.Model.Name;
        var (outputStride, style) = (checkpoint.OutputStride, checkpoint.Style);
        ModelCheckpoint? held = checkpoint;
        var stages = Outputs(StageCount(checkpoint.Model), template);

        (InferenceSession, string?) SessionFor(int height, int width, bool withStages, SessionOptions sessionOptions)
        {
            var current = held;
            held = null;
            if (current is null)
            {
                current = ModelCheckpoint.Read(path, model).With(outputStride, style);
                if (HashFile(path) != weightsHash)
                {
                    throw new Res2NetException($"{path}: the checkpoint changed while an engine was using it.");
                }
            }

            var (file, session) = Resolve(current, template with { Height = height, Width = width, Stages = withStages }, weightsHash, sessionOptions);
            return (session!, file);
        }

        return OnnxEngine.PerInputSize(checkpoint.Metadata, engine, SessionFor, stages);
    }

    /// <summary>The path of a verified export of <paramref name="checkpoint"/> with <paramref name="export"/>, made if needed.</summary>
    public string GetOrCreate(ModelCheckpoint checkpoint, OnnxExportOptions export)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(export);
        return Resolve(checkpoint, export, HashFile(checkpoint.Path), null).Path;
    }

    /// <summary>An engine over a model in memory, exported without caching; takes over the model.</summary>
    internal static OnnxEngine InMemory(Res2NetBackbone model, OnnxEngineOptions? engine, OnnxExportOptions? template = null)
    {
        model.eval();
        template ??= new OnnxExportOptions();
        var stages = Outputs(model.Stages.Count, template);
        return OnnxEngine.PerInputSize(model.Metadata, engine,
            (h, w, s, so) => (new InferenceSession(OnnxExporter.ExportBytes(model, template with { Height = h, Width = w, Stages = s }), so), null),
            stages, model);
    }

    /// <summary>
    /// The cached export's path, made if missing or invalid; with <paramref name="sessionOptions"/>, also the session
    /// that checked it, ready to run (a session is what checks a file, so the engine's own is used for that).
    /// </summary>
    private (string Path, InferenceSession? Session) Resolve(ModelCheckpoint checkpoint, OnnxExportOptions export, string weightsHash,
        SessionOptions? sessionOptions)
    {
        export.Validate();
        var metadata = checkpoint.Metadata.ToJson();
        var key = Hash($"{checkpoint.Model.Name}|{weightsHash}|v{OnnxExporter.FormatVersion}|{export.Key}|{Hash(metadata)}|os{checkpoint.OutputStride}|{checkpoint.Style}")[..16];
        var name = $"{Path.GetFileNameWithoutExtension(checkpoint.Path)}.{key}.onnx";
        var folders = new List<string>();
        if (options.CacheBesideWeights)
        {
            folders.Add(Path.GetDirectoryName(Path.GetFullPath(checkpoint.Path))!);
        }

        var cacheFolder = options.Directory ?? Path.Combine(WeightsCache.DefaultDirectory(), "onnx");
        folders.Add(cacheFolder);
        foreach (var folder in folders.ToList())
        {
            var candidate = Path.Combine(folder, name);
            var entry = FileSystemEntry.Of(candidate, followLinks: false);
            if (entry.Kind == EntryKind.Regular)
            {
                // The file's own bytes against the hash recorded when it was written, then its metadata against these
                // weights and options: an export edited, swapped or truncated since is made again.
                if (ReadHash(candidate) is { } recorded && recorded.Size == entry.Size && Sha256(candidate) == recorded.Hash
                    && TryOpen(candidate, weightsHash, key, sessionOptions) is { } valid)
                {
                    return (candidate, valid.Session);
                }

                TryDelete(candidate);
                TryDelete(candidate + HashSuffix);
            }
            else if (entry.Kind != EntryKind.Missing)
            {
                // A link, FIFO or device under our name is neither read nor replaced: this folder is not used.
                folders.Remove(folder);
            }
        }

        if (folders.Count == 0)
        {
            throw new Res2NetException($"{Path.Combine(cacheFolder, name)}: the ONNX export cache holds something other than a file under this name; remove it.");
        }

        var proto = Build(checkpoint, export, weightsHash, key);
        for (var i = 0; ; i++)
        {
            var path = Path.Combine(folders[i], name);
            try
            {
                Directory.CreateDirectory(folders[i]);
                OnnxExporter.Write(proto, path);
                AtomicFile.WriteAllBytes(path + HashSuffix, System.Text.Encoding.ASCII.GetBytes($"{Sha256(path)} {new FileInfo(path).Length}"));
                break;
            }
            catch (Exception e) when (i < folders.Count - 1 && e is Res2NetException or IOException or UnauthorizedAccessException)
            {
                // A read-only folder beside the weights (a mounted model store): the cache folder then.
            }
        }

        // The export's protobuf objects and the model built for it are garbage now: hand their memory back before
        // ONNX Runtime loads the file, so that a first use costs about what later ones do.
        proto = null;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        NativeMemory.ReturnFreedMemory();
        var written = Path.Combine(folders.First(f => File.Exists(Path.Combine(f, name))), name);
        return (written, sessionOptions is null ? null : new InferenceSession(written, sessionOptions));
    }

    /// <summary>Beside each cached export: the SHA-256 of its bytes and their count, as written (the count is checked first: no hashing of a file of another size).</summary>
    private const string HashSuffix = ".sha256";

    private static string Sha256(string path)
    {
        try
        {
            using var stream = InputFiles.OpenRead(path, "cached export");
            return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        }
        catch (Res2NetException)
        {
            return "";
        }
    }

    /// <summary>The recorded hash and size, or null when there is none that could be read.</summary>
    private static (string Hash, long Size)? ReadHash(string export)
    {
        var path = export + HashSuffix;
        if (FileSystemEntry.Of(path, followLinks: false).Kind != EntryKind.Regular)
        {
            return null;
        }

        try
        {
            var parts = System.Text.Encoding.ASCII.GetString(InputFiles.ReadAllBytes(path, 128, "export hash")).Trim().Split(' ');
            return parts.Length == 2 && long.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var size) ? (parts[0], size) : null;
        }
        catch (Res2NetException)
        {
            return null;
        }
    }

    private static Onnx.ModelProto Build(ModelCheckpoint checkpoint, OnnxExportOptions export, string weightsHash, string key)
    {
        using var model = checkpoint.CreateModel();
        model.eval();
        var proto = OnnxExporter.Build(model, export);
        OnnxExporter.SetProperty(proto, WeightsHashKey, weightsHash);
        OnnxExporter.SetProperty(proto, ExportKeyKey, key);
        return proto;
    }

    /// <summary>
    /// Opens a cached file if it loads and says it was made from these weights for this key (null otherwise); without
    /// session options it is only checked, with a session that skips graph optimisation, and closed again.
    /// </summary>
    private static (InferenceSession? Session, bool Ok)? TryOpen(string path, string weightsHash, string key, SessionOptions? sessionOptions)
    {
        using var light = sessionOptions is null ? new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL } : null;
        InferenceSession? session = null;
        try
        {
            session = new InferenceSession(path, sessionOptions ?? light!);
            var props = session.ModelMetadata.CustomMetadataMap;
            if (props.TryGetValue(WeightsHashKey, out var hash) && hash == weightsHash && props.TryGetValue(ExportKeyKey, out var k) && k == key)
            {
                if (sessionOptions is null)
                {
                    session.Dispose();
                    return (null, true);
                }

                return (session, true);
            }

            session.Dispose();
            return null;
        }
        catch (Exception e) when (e is OnnxRuntimeException or IOException or UnauthorizedAccessException)
        {
            session?.Dispose();
            return null;
        }
    }

    /// <summary>What an export gives: the pooled embedding and every stage, or the stages up to <see cref="OnnxExportOptions.LastStage"/>.</summary>
    private static FeatureStage[] Outputs(int stageCount, OnnxExportOptions export) => export.LastStage is { } last
        ? Enumerable.Range(0, Math.Min(last, stageCount)).Select(i => (FeatureStage)(i + 1)).ToArray()
        : [FeatureStage.Pooled, .. Enumerable.Range(0, stageCount).Select(i => (FeatureStage)(i + 1))];

    private static int StageCount(ModelInfo info) => info.Config switch
    {
        Res2NetConfig r => r.Layers.Count,
        _ => 4,
    };

    private static string HashFile(string path)
    {
        using var stream = InputFiles.OpenRead(path, "checkpoint");
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Rebuilt under the same name: the rename replaces it if it could not be removed.
        }
    }
}
