using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Res2Net.Engines;
using Res2Net.Export;
using Res2Net.IO;
using Res2Net.Models;
using Res2Net.Weights;
using ModelMetadata = Res2Net.Models.ModelMetadata;

namespace Res2Net.Caching;

/// <summary>
/// Turns checkpoints into ONNX files for the ONNX engine, once. Each export is named by a key over the weights'
/// SHA-256 (read once per process), the model asked for, its form, the exporter version and the export options; it
/// records the weights' hash and its key in its <c>metadata_props</c> and the SHA-256 of its own bytes beside it, and is
/// checked against them whenever it is used. A cached file that was replaced, damaged or made from other weights is
/// rebuilt, never run. With a cached export the checkpoint is not parsed at all: the metadata the first export
/// recorded beside it is used. Each cache folder is kept under <see cref="ModelCacheOptions.MaxExportBytes"/>, the least
/// recently used files going first.
/// </summary>
internal sealed class OnnxExportCache
{
    /// <summary>Metadata key of the SHA-256 of the weights file an export was made from.</summary>
    public const string WeightsHashKey = "res2net.weights_sha256";

    /// <summary>Metadata key of the cache key an export was made for.</summary>
    public const string ExportKeyKey = "res2net.export_key";

    /// <summary>Beside each export: the SHA-256 of its bytes and their count, as written.</summary>
    private const string HashSuffix = ".sha256";

    /// <summary>Beside a checkpoint's exports: what the checkpoint is for, so that a warm start need not parse it.</summary>
    private const string MetadataSuffix = ".metadata.json";

    /// <summary>Exports (full paths) that engines of this process are running: never trimmed from under them.</summary>
    private static readonly ConcurrentDictionary<string, int> InUse = new(StringComparer.Ordinal);

    private readonly ModelCacheOptions options;

    /// <summary>A cache with the given places and bound (default: beside the weights, else $RES2NET_HOME/onnx, 4 GiB a folder).</summary>
    public OnnxExportCache(ModelCacheOptions? options = null)
    {
        this.options = options ?? new ModelCacheOptions();
    }

    /// <summary>
    /// An ONNX engine over exports of the checkpoint at <paramref name="path"/>, one per input size (fixed height and
    /// width let ONNX Runtime fuse more; the batch stays dynamic), made on first use and cached. The checkpoint is
    /// parsed only when an export must be made (and then let go of once it exists); another input size checks that
    /// the file did not change meanwhile.
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="modelName">The registered model it is for; null: what the file records or its shapes fit.</param>
    /// <param name="outputStride">The form to build (null: the file's).</param>
    /// <param name="style">The block style to build (null: the file's layout's).</param>
    /// <param name="template">How each export is made (its size is set per session).</param>
    /// <param name="engine">The engine's threads.</param>
    public OnnxEngine Open(string path, string? modelName, int? outputStride, BlockStyle? style, OnnxExportOptions template, ModelOptions engine)
    {
        ArgumentNullException.ThrowIfNull(path);
        template.Validate();
        var asked = modelName is null ? "" : ModelRegistry.Get(modelName).Name;
        var weightsHash = FileHashes.Sha256(path, "checkpoint");
        var baseKey = Hash($"{asked}|{weightsHash}|v{OnnxExporter.FormatVersion}|os{outputStride}|{style}|{ClassesBesideHash(path)}")[..16];
        var stem = Path.GetFileNameWithoutExtension(path);
        ModelCheckpoint? held = null;
        var metadata = ReadMetadata(stem, baseKey, path, weightsHash);
        if (metadata is null)
        {
            held = ModelCheckpoint.Read(path, modelName).With(outputStride, style);
            metadata = held.Metadata;
            WriteMetadata(stem, baseKey, path, weightsHash, metadata);
        }

        var info = ModelRegistry.Get(metadata.Model);
        var open = new List<string>();

        (InferenceSession, string?) SessionFor(int height, int width, bool withStages, SessionOptions sessionOptions)
        {
            var export = template with { Height = height, Width = width, Stages = withStages };
            var key = Hash($"{baseKey}|{export.Key}")[..16];
            var name = $"{stem}.{key}.onnx";
            var (file, session) = Find(name, path, weightsHash, key, sessionOptions) ?? Make(name, path, export, weightsHash, key, sessionOptions, () =>
            {
                var current = held ?? ModelCheckpoint.Read(path, modelName).With(outputStride, style);
                held = null;
                if (FileHashes.Sha256(path, "checkpoint") != weightsHash)
                {
                    throw new Res2NetException($"{path}: the checkpoint changed while an engine was using it.");
                }

                return current;
            });
            Hold(file, open);
            return (session, file);
        }

        return OnnxEngine.PerInputSize(metadata, engine, SessionFor, Outputs(info.Config.StageCount, template), owned: new Release(open));
    }

    /// <summary>The path of a verified export of <paramref name="checkpoint"/> with <paramref name="export"/>, made if needed.</summary>
    public string GetOrCreate(ModelCheckpoint checkpoint, OnnxExportOptions export)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        export.Validate();
        var weightsHash = FileHashes.Sha256(checkpoint.Path, "checkpoint");
        var key = Hash($"{checkpoint.Model.Name}|{weightsHash}|v{OnnxExporter.FormatVersion}|os{checkpoint.OutputStride}|{checkpoint.Style}|"
            + $"{Hash(checkpoint.Metadata.ToJson())}|{export.Key}")[..16];
        var name = $"{Path.GetFileNameWithoutExtension(checkpoint.Path)}.{key}.onnx";
        return (Find(name, checkpoint.Path, weightsHash, key, null) ?? Make(name, checkpoint.Path, export, weightsHash, key, null, () => checkpoint)).Path;
    }

    /// <summary>An engine over a model in memory, exported without caching; takes over the model.</summary>
    internal static OnnxEngine InMemory(Res2NetBackbone model, ModelOptions engine, OnnxExportOptions? template = null)
    {
        model.eval();
        template ??= new OnnxExportOptions();
        var stages = Outputs(model.Stages.Count, template);
        return OnnxEngine.PerInputSize(model.Metadata, engine,
            (h, w, s, so) => (new InferenceSession(OnnxExporter.ExportBytes(model, template with { Height = h, Width = w, Stages = s }), so), null),
            stages, owned: model);
    }

    /// <summary>What an export gives: the pooled embedding and every stage, or the stages up to <see cref="OnnxExportOptions.LastStage"/>.</summary>
    internal static FeatureStage[] Outputs(int stageCount, OnnxExportOptions export) => export.LastStage is { } last
        ? Enumerable.Range(0, Math.Min(last, stageCount)).Select(i => (FeatureStage)(i + 1)).ToArray()
        : [FeatureStage.Pooled, .. Enumerable.Range(0, stageCount).Select(i => (FeatureStage)(i + 1))];

    /// <summary>The folders an export may be in, in order: beside the weights (when allowed), then the cache folder.</summary>
    private List<string> Folders(string weightsPath)
    {
        var folders = new List<string>();
        if (options.ExportsBesideWeights)
        {
            folders.Add(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!);
        }

        folders.Add(Path.Combine(options.ResolvedDirectory(), "onnx"));
        return folders;
    }

    /// <summary>
    /// A cached export that is what its name says, with the session that checked it (or null without session options:
    /// checked and closed); null when there is none. Anything else under the name is removed, or, when it is not a
    /// regular file (a link, a FIFO), left alone and never read.
    /// </summary>
    private (string Path, InferenceSession Session)? Find(string name, string weightsPath, string weightsHash, string key, SessionOptions? sessionOptions)
    {
        foreach (var folder in Folders(weightsPath))
        {
            var candidate = Path.Combine(folder, name);
            var entry = FileSystemEntry.Of(candidate, followLinks: false);
            if (entry.Kind != EntryKind.Regular)
            {
                continue;
            }

            // The file's own bytes against the hash recorded when it was written, then its metadata against these
            // weights and options: an export edited, swapped or truncated since is made again.
            if (ReadHash(candidate) is { } recorded && recorded.Size == entry.Size && Sha256(candidate) == recorded.Hash
                && TryOpen(candidate, weightsHash, key, sessionOptions) is (true, var session))
            {
                Touch(candidate);
                return (candidate, session!);
            }

            TryDelete(candidate);
            TryDelete(candidate + HashSuffix);
        }

        return null;
    }

    /// <summary>Makes an export of the checkpoint <paramref name="read"/> gives, in the first folder that takes it, then trims that folder.</summary>
    private (string Path, InferenceSession Session) Make(string name, string weightsPath, OnnxExportOptions export, string weightsHash, string key,
        SessionOptions? sessionOptions, Func<ModelCheckpoint> read)
    {
        var folders = Folders(weightsPath).Where(f => FileSystemEntry.Of(Path.Combine(f, name), followLinks: false).Kind == EntryKind.Missing).ToList();
        if (folders.Count == 0)
        {
            throw new Res2NetException($"{Path.Combine(Folders(weightsPath)[^1], name)}: the ONNX export cache holds something other than a file under this name; remove it.");
        }

        OnnxModel exported;
        using (var model = read().CreateModel())
        {
            model.eval();
            exported = OnnxExporter.Build(model, export, (WeightsHashKey, weightsHash), (ExportKeyKey, key));
        }

        using var owned = exported;
        var proto = exported.Proto;

        for (var i = 0; ; i++)
        {
            var path = Path.Combine(folders[i], name);
            try
            {
                Directory.CreateDirectory(folders[i]);
                string hash = "";
                long length = 0;
                AtomicFile.Write(path, stream =>
                {
                    // Hashed as it is written: the export is never read back to be checked.
                    using var sha = SHA256.Create();
                    using (var hashing = new CryptoStream(stream, sha, CryptoStreamMode.Write, leaveOpen: true))
                    {
                        proto.WriteTo(hashing);
                    }

                    (hash, length) = (Convert.ToHexStringLower(sha.Hash!), stream.Length);
                });
                AtomicFile.WriteAllBytes(path + HashSuffix, Encoding.ASCII.GetBytes($"{hash} {length}"));
                Trim(folders[i], keep: path);

                // The export's weights (native memory) and the model's are freed now: hand them back before ONNX Runtime
                // loads the file, so that a first use costs about what later ones do.
                owned.Dispose();
                NativeMemory.ReturnFreedMemory();
                return (path, sessionOptions is null ? null! : new InferenceSession(path, sessionOptions));
            }
            catch (Exception e) when (i < folders.Count - 1 && e is Res2NetException or IOException or UnauthorizedAccessException)
            {
                // A read-only folder beside the weights (a mounted model store): the cache folder then.
            }
        }
    }

    /// <summary>
    /// Removes the least recently used files of this cache's naming in <paramref name="folder"/> until it holds at most
    /// <see cref="ModelCacheOptions.MaxExportBytes"/>: exports with their hashes, and recorded metadata. Never
    /// <paramref name="keep"/> nor an export an engine of this process runs.
    /// </summary>
    private void Trim(string folder, string keep)
    {
        List<(string Path, long Bytes, DateTime Used)> files;
        try
        {
            files = Directory.EnumerateFiles(folder)
                .Where(f => IsOurs(Path.GetFileName(f)) && FileSystemEntry.Of(f, followLinks: false).Kind == EntryKind.Regular)
                .Select(f => (Path: f, Bytes: new FileInfo(f).Length + SidecarBytes(f), Used: File.GetLastAccessTimeUtc(f)))
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        var total = files.Sum(f => f.Bytes);
        foreach (var (path, bytes, _) in files.OrderBy(f => f.Used))
        {
            if (total <= options.MaxExportBytes)
            {
                break;
            }

            if (path == keep || InUse.ContainsKey(path))
            {
                continue;
            }

            TryDelete(path);
            TryDelete(path + HashSuffix);
            total -= bytes;
        }

        static long SidecarBytes(string file) => File.Exists(file + HashSuffix) ? new FileInfo(file + HashSuffix).Length : 0;
    }

    /// <summary>An export (<c>NAME.KEY16.onnx</c>) or recorded metadata (<c>NAME.KEY16.metadata.json</c>) of this cache.</summary>
    private static bool IsOurs(string name)
    {
        var suffix = name.EndsWith(".onnx", StringComparison.Ordinal) ? ".onnx" : name.EndsWith(MetadataSuffix, StringComparison.Ordinal) ? MetadataSuffix : null;
        if (suffix is null)
        {
            return false;
        }

        var rest = name[..^suffix.Length];
        var dot = rest.LastIndexOf('.');
        return dot > 0 && rest.Length - dot - 1 == 16 && rest[(dot + 1)..].All(char.IsAsciiHexDigitLower);
    }

    /// <summary>The metadata a first export recorded for this checkpoint and key, if it is there and is of these weights.</summary>
    private ModelMetadata? ReadMetadata(string stem, string baseKey, string weightsPath, string weightsHash)
    {
        foreach (var folder in Folders(weightsPath))
        {
            var path = Path.Combine(folder, $"{stem}.{baseKey}{MetadataSuffix}");
            if (FileSystemEntry.Of(path, followLinks: false).Kind != EntryKind.Regular)
            {
                continue;
            }

            try
            {
                var record = JsonNode.Parse(InputFiles.ReadAllBytes(path, Limits.MaxMetadataChars, "recorded metadata")) as JsonObject;
                if (record?["weights_sha256"]?.GetValue<string>() == weightsHash && record["metadata"]?.GetValue<string>() is { } json)
                {
                    var metadata = ModelMetadata.FromJson(json, path);
                    Touch(path);
                    return metadata;
                }
            }
            catch (Exception e) when (e is Res2NetException or JsonException or InvalidOperationException or FormatException)
            {
                // Damaged or not ours: read the checkpoint instead, and record it again.
            }

            TryDelete(path);
        }

        return null;
    }

    private void WriteMetadata(string stem, string baseKey, string weightsPath, string weightsHash, ModelMetadata metadata)
    {
        var record = new JsonObject { ["weights_sha256"] = weightsHash, ["metadata"] = metadata.ToJson() }.ToJsonString();
        foreach (var folder in Folders(weightsPath))
        {
            try
            {
                Directory.CreateDirectory(folder);
                AtomicFile.WriteAllBytes(Path.Combine(folder, $"{stem}.{baseKey}{MetadataSuffix}"), Encoding.UTF8.GetBytes(record));
                return;
            }
            catch (Exception e) when (e is Res2NetException or IOException or UnauthorizedAccessException)
            {
                // Not writable here: the next folder, or none (the checkpoint is then read on every start).
            }
        }
    }

    /// <summary>What a <c>classes.txt</c> beside the weights holds (it names the classes of files that record none).</summary>
    private static string ClassesBesideHash(string weightsPath)
    {
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, ImageNetLabels.ClassesFileName);
        if (FileSystemEntry.Of(beside).Kind != EntryKind.Regular)
        {
            return "";
        }

        try
        {
            return Convert.ToHexStringLower(SHA256.HashData(InputFiles.ReadAllBytes(beside, Limits.MaxClassesFileBytes, "class names")));
        }
        catch (Res2NetException)
        {
            return "";
        }
    }

    private static void Hold(string path, List<string> open)
    {
        InUse.AddOrUpdate(path, 1, (_, n) => n + 1);
        lock (open)
        {
            open.Add(path);
        }
    }

    private static string Sha256(string path)
    {
        try
        {
            using var stream = InputFiles.OpenRead(path, "cached export");
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is Res2NetException or IOException)
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
            var parts = Encoding.ASCII.GetString(InputFiles.ReadAllBytes(path, 128, "export hash")).Trim().Split(' ');
            return parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var size) ? (parts[0], size) : null;
        }
        catch (Res2NetException)
        {
            return null;
        }
    }

    /// <summary>
    /// Opens a cached file if it loads and says it was made from these weights for this key (null otherwise); without
    /// session options it is only checked, with a session that skips graph optimisation, and closed again.
    /// </summary>
    private static (bool Ok, InferenceSession? Session) TryOpen(string path, string weightsHash, string key, SessionOptions? sessionOptions)
    {
        using var light = sessionOptions is null ? new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL } : null;
        InferenceSession? session = null;
        try
        {
            session = new InferenceSession(path, sessionOptions ?? light!);
            var props = session.ModelMetadata.CustomMetadataMap;
            var ok = props.TryGetValue(WeightsHashKey, out var hash) && hash == weightsHash && props.TryGetValue(ExportKeyKey, out var k) && k == key;
            if (ok && sessionOptions is not null)
            {
                return (true, session);
            }

            session.Dispose();
            return (ok, null);
        }
        catch (Exception e) when (e is OnnxRuntimeException or IOException or UnauthorizedAccessException)
        {
            session?.Dispose();
            return (false, null);
        }
    }

    /// <summary>
    /// Marks a file as just used, for the least-recently-used order: its access time, set whatever the mount's atime
    /// policy (its modification time stays the time it was written; a read-only folder keeps both).
    /// </summary>
    private static void Touch(string path)
    {
        try
        {
            File.SetLastAccessTimeUtc(path, DateTime.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the order of trimming suffers.
        }
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

    /// <summary>Lets go of an engine's exports when it is disposed, so that they may be trimmed again.</summary>
    private sealed class Release(List<string> open) : IDisposable
    {
        public void Dispose()
        {
            lock (open)
            {
                foreach (var path in open)
                {
                    InUse.AddOrUpdate(path, 0, (_, n) => n - 1);
                    InUse.TryRemove(new KeyValuePair<string, int>(path, 0));
                }

                open.Clear();
            }
        }
    }
}
