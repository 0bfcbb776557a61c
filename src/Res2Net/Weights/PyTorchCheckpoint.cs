using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using System.Numerics;
using Res2Net.IO;
using Res2Net.Models;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>Reads and writes PyTorch checkpoints (torch.save files) as untrusted input.</summary>
internal static class PyTorchCheckpoint
{
    // 0x1950a86a20f9469cfc6c, the first pickle of a legacy (non-zip) torch.save file.
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);
    private const int LegacyProtocolVersion = 1001;

    /// <summary>Where a zip checkpoint keeps its <see cref="ModelMetadata"/>, below the archive's folder.</summary>
    internal const string MetadataEntry = "res2net/metadata.json";

    /// <summary>The keys that usually hold the state dict inside a training checkpoint, in order of preference.</summary>
    private static readonly string[] WrapperKeys =
        ["state_dict", "model_state_dict", "model", "model_state", "net", "network", "state_dict_ema", "model_ema", "module"];

    /// <summary>
    /// The tensors of the checkpoint's state dict, in file order: unwraps {'state_dict': ...},
    /// {'model': ...} and the like, ignores non-tensor entries, and strips DataParallel's "module." prefix.
    /// </summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path) => ReadStateDict(path, out _);

    /// <summary>
    /// The state dict as <see cref="ReadStateDict(string)"/> reads it, and the JSON of the <see cref="ModelMetadata"/> a
    /// zip checkpoint written by this library carries in its <c>res2net/metadata.json</c> entry (null when absent).
    /// </summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path, out string? metadataJson)
    {
        using var raw = Load(path);
        metadataJson = raw.MetadataJson;
        var entries = Unwrap(raw, raw.Root, 0);
        bool dataParallel = entries.Count > 0 && entries.All(e => e.Key.StartsWith("module.", StringComparison.Ordinal));
        var result = new OrderedDictionary<string, TensorData>();
        var cache = new Dictionary<TensorRef, TensorData>();
        var budget = new ReadBudget(raw.Path);
        foreach (var (key, tensor) in entries)
        {
            string name = dataParallel ? key["module.".Length..] : key;
            if (!cache.TryGetValue(tensor, out var data))
            {
                budget.Charge(tensor, key);
                cache[tensor] = data = Materialize(raw.Path, tensor, key);
            }

            result[name] = data;
        }
        return result;
    }

    /// <summary>The container kind and the whole object, with every tensor read.</summary>
    public static CheckpointContents Read(string path)
    {
        using var raw = Load(path);
        var tensors = new List<KeyValuePair<string, TensorData>>();
        var cache = new Dictionary<object, TensorData>(ReferenceEqualityComparer.Instance);
        object? root = Convert(raw, raw.Root, "", 0, tensors, cache, new ReadBudget(raw.Path));
        return new CheckpointContents(raw.Container, root, tensors);
    }

    /// <summary>
    /// Writes a state dict as torch.save (PyTorch 1.13) does: a zip with archive/data.pkl (an
    /// OrderedDict of _rebuild_tensor_v2 calls), archive/data/&lt;key&gt;, archive/version and
    /// archive/byteorder, entries stored uncompressed with their data 64-byte aligned. Written to a temporary file that is renamed
    /// into place, so an interrupted write never leaves a partial checkpoint.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">The state dict, in order.</param>
    /// <param name="metadataJson">
    /// <see cref="ModelMetadata"/> JSON to store as the entry <c>res2net/metadata.json</c>, which PyTorch's loader does
    /// not read, so <c>load_state_dict(torch.load(path), strict=True)</c> still works.
    /// </param>
    public static void WriteStateDict(string path, IEnumerable<KeyValuePair<string, TensorData>> tensors, string? metadataJson = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var seen = new HashSet<string>();
        foreach (var (key, t) in list)
        {
            if (!seen.Add(key))
            {
                throw new ArgumentException($"duplicate tensor name '{key}'.", nameof(tensors));
            }

            t.Validate($"tensor '{key}'");
        }

        var pickle = new PickleWriter();
        pickle.Global("collections", "OrderedDict");
        pickle.EmptyTuple();
        pickle.Reduce();
        // Python's pickler batches SETITEMS by 1000; any batch size loads the same.
        for (int start = 0; start < list.Count; start += 1000)
        {
            pickle.Mark();
            for (int i = start; i < Math.Min(start + 1000, list.Count); i++)
            {
                var (key, t) = list[i];
                pickle.String(key);
                WriteTensor(pickle, t, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            pickle.SetItems();
        }
        pickle.Stop();
        byte[] dataPkl = pickle.ToArray();

        AtomicFile.Write(path, stream =>
        {
            var zip = new AlignedZipWriter(stream);
            zip.Add("archive/data.pkl", dataPkl);
            for (int i = 0; i < list.Count; i++)
            {
                zip.Add($"archive/data/{i}", list[i].Value.Data);
            }

            zip.Add("archive/version", "3\n"u8);
            if (metadataJson is not null)
            {
                zip.Add("archive/" + MetadataEntry, System.Text.Encoding.UTF8.GetBytes(metadataJson));
            }

            zip.Add("archive/byteorder", "little"u8);
            zip.Finish();
        });
    }

    private static void WriteTensor(PickleWriter w, TensorData t, string storageKey)
    {
        // torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
        w.Global("torch._utils", "_rebuild_tensor_v2");
        w.Mark();
        w.Mark();
        w.MemoString("storage");
        w.Global("torch", t.DType.TorchStorageName());
        w.String(storageKey);
        w.MemoString("cpu");
        w.Int(t.NumElements);
        w.Tuple();
        w.PersistentId();
        w.Int(0);
        w.IntTuple(t.Shape);
        w.IntTuple(TensorData.ContiguousStrides(t.Shape));
        w.Bool(false);
        w.Global("collections", "OrderedDict");
        w.EmptyTuple();
        w.Reduce();
        w.Tuple();
        w.Reduce();
    }

    // ---------------------------------------------------------------- loading

    internal sealed class RawCheckpoint(string path, string container) : IDisposable
    {
        public string Path { get; } = path;
        public string Container { get; } = container;
        public object? Root { get; set; }

        /// <summary>The <see cref="ModelMetadata"/> JSON a zip checkpoint of this library carries, if any.</summary>
        public string? MetadataJson { get; set; }

        /// <summary>Offsets of strings in the object pickle: the order of dict keys in the file.</summary>
        public Dictionary<string, long> KeyOrder { get; } = [];

        public List<IDisposable> Resources { get; } = [];

        public void Dispose()
        {
            foreach (var r in Resources)
            {
                r.Dispose();
            }
        }
    }

    internal static RawCheckpoint Load(string path)
    {
        var fs = FormatFiles.Open(path);
        try
        {
            Span<byte> head = stackalloc byte[4];
            int n = fs.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            fs.Position = 0;
            if (n == 0)
            {
                throw For(path, "the file is empty");
            }

            if (n == 4 && head[0] == 'P' && head[1] == 'K')
            {
                return LoadZip(path, fs);
            }

            if (n >= 2 && head[0] == 0x80)
            {
                return LoadLegacy(path, fs);
            }

            throw For(path, $"not a PyTorch checkpoint ({FormatFiles.DescribeStart(path)})");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            // The zip reader finds some damage only as it reads (its central directory, an entry's header).
            fs.Dispose();
            throw For(path, $"the file is truncated or damaged ({e.Message.TrimEnd('.')})", e);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    private static RawCheckpoint LoadZip(string path, FileStream fs)
    {
        var raw = new RawCheckpoint(path, "zip");
        raw.Resources.Add(fs);
        try
        {
            ZipArchive zip;
            try
            {
                zip = new ZipArchive(fs, ZipArchiveMode.Read);
            }
            catch (InvalidDataException e)
            {
                throw For(path, "the file is truncated or damaged: its zip central directory is missing or unreadable", e);
            }
            raw.Resources.Add(zip);
            var pkl = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pkl.Count != 1)
            {
                throw For(path, pkl.Count == 0
                    ? "a zip archive without a '<archive>/data.pkl' entry, so not a PyTorch checkpoint"
                    : "a zip archive with more than one '<archive>/data.pkl' entry");
            }

            string prefix = pkl[0].FullName[..^"data.pkl".Length];

            var byteOrder = zip.GetEntry(prefix + "byteorder");
            if (byteOrder is not null)
            {
                string order = System.Text.Encoding.ASCII.GetString(ReadEntry(path, byteOrder, 16, "the byteorder entry")).Trim();
                if (order != "little")
                {
                    throw For(path, $"the checkpoint was saved with byte order '{order}'; only little-endian checkpoints are supported");
                }
            }

            if (zip.GetEntry(prefix + MetadataEntry) is { } metadata)
            {
                raw.MetadataJson = System.Text.Encoding.UTF8.GetString(ReadEntry(path, metadata, Limits.MaxMetadataChars, "the metadata entry"));
            }

            // data.pkl is small; the cap keeps a lying size from allocating much.
            byte[] pickleBytes = ReadEntry(path, pkl[0], Limits.MaxPickleBytes, "data.pkl");
            using var ms = new MemoryStream(pickleBytes, writable: false);
            byte[] validated = PickleValidator.ReadOne(ms, path, "data.pkl", raw.KeyOrder);
            var storages = new Dictionary<string, StorageRef>();
            raw.Root = SafeUnpickler.Load(validated, path, "data.pkl", pid =>
            {
                // ('storage', storage_type, key, location, numel)
                var (dtype, key, numel) = ParseStoragePid(path, pid, 5);
                if (storages.TryGetValue(key, out var existing))
                {
                    return existing;
                }

                return storages[key] = new StorageRef(key, dtype, numel)
                {
                    Loader = (s, tensorName) => LoadZipStorage(path, zip, prefix, s, tensorName),
                };
            });
            return raw;
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    private static byte[] LoadZipStorage(string path, ZipArchive zip, string prefix, StorageRef s, string tensorName)
    {
        string name = $"{prefix}data/{s.Key}";
        var entry = zip.GetEntry(name) ?? throw For(path, $"the zip archive has no entry '{name}' for tensor '{tensorName}'");
        long need = StorageBytes(path, s, tensorName);
        if (entry.Length < need)
        {
            throw For(path, $"the file is truncated: tensor '{tensorName}' needs {N(need)} bytes but its entry '{name}' holds {N(entry.Length)}");
        }

        return ReadEntry(path, entry, need, $"the data of tensor '{tensorName}'", need);
    }

    /// <summary>Reads at most <paramref name="max"/> bytes of an entry (exactly <paramref name="exact"/> if given).</summary>
    private static byte[] ReadEntry(string path, ZipArchiveEntry entry, long max, string what, long exact = -1)
    {
        long declared = exact >= 0 ? exact : entry.Length;
        if (declared > max)
        {
            throw For(path, $"{what} claims {N(entry.Length)} bytes, more than the {N(max)} allowed");
        }
        // Deflate cannot expand more than about 1032:1; a larger claim is a lie (zip bomb).
        if (entry.CompressedLength != entry.Length && declared > entry.CompressedLength * 1100 + 1024)
        {
            throw For(path, $"{what} claims {N(declared)} bytes from {N(entry.CompressedLength)} compressed bytes, which is impossible");
        }

        if (declared > Array.MaxLength)
        {
            throw For(path, $"{what} has {N(declared)} bytes, more than one array can hold");
        }

        var buffer = new byte[declared];
        try
        {
            using var s = entry.Open();
            s.ReadExactly(buffer);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException)
        {
            throw For(path, $"the file is truncated or damaged: {what} cannot be read from zip entry '{entry.FullName}' ({e.Message.TrimEnd('.')})", e);
        }
        return buffer;
    }

    private static RawCheckpoint LoadLegacy(string path, FileStream fs)
    {
        var raw = new RawCheckpoint(path, "legacy");
        raw.Resources.Add(fs);
        try
        {
            object? magic = SafeUnpickler.Load(PickleValidator.ReadOne(fs, path, "the magic-number pickle"), path, "the magic-number pickle");
            if (!(magic is BigInteger b && b == LegacyMagic))
            {
                throw For(path, "a pickle file that is not a PyTorch checkpoint: it does not start with torch's magic number");
            }

            object? version = SafeUnpickler.Load(PickleValidator.ReadOne(fs, path, "the protocol-version pickle"), path, "the protocol-version pickle");
            if (version is not int v || v != LegacyProtocolVersion)
            {
                throw For(path, $"the legacy checkpoint has protocol version {version ?? "None"}; only {LegacyProtocolVersion} is supported");
            }

            object? sysInfo = SafeUnpickler.Load(PickleValidator.ReadOne(fs, path, "the sys_info pickle"), path, "the sys_info pickle");
            if (sysInfo is Hashtable info && info["little_endian"] is false)
            {
                throw For(path, "the checkpoint was saved on a big-endian machine; only little-endian checkpoints are supported");
            }

            var storages = new Dictionary<string, StorageRef>();
            byte[] objectPickle = PickleValidator.ReadOne(fs, path, "the object pickle", raw.KeyOrder);
            raw.Root = SafeUnpickler.Load(objectPickle, path, "the object pickle", pid => LegacyStorage(path, storages, pid));

            object? keys = SafeUnpickler.Load(PickleValidator.ReadOne(fs, path, "the storage-key pickle"), path, "the storage-key pickle");
            if (keys is not ArrayList keyList)
            {
                throw For(path, "the legacy checkpoint's list of storage keys is not a list");
            }

            NameStorages(raw.Root, null, 0, new HashSet<object>(ReferenceEqualityComparer.Instance));

            // Then for each key: int64 element count and the raw little-endian elements.
            Span<byte> count = stackalloc byte[8];
            foreach (object? k in keyList)
            {
                string key = k as string ?? throw For(path, "the legacy checkpoint's list of storage keys holds a non-string");
                if (!storages.TryGetValue(key, out var storage))
                {
                    throw For(path, $"the legacy checkpoint lists storage '{key}' that no tensor refers to");
                }

                string owner = storage.FirstTensorName is null ? $"storage '{key}'" : $"tensor '{storage.FirstTensorName}'";
                long at = fs.Position;
                if (fs.Length - at < 8)
                {
                    throw For(path, $"the file is truncated: {owner} needs its 8-byte size at offset {N(at)} but the file ends at {N(fs.Length)}");
                }

                fs.ReadExactly(count);
                long numel = BinaryPrimitives.ReadInt64LittleEndian(count);
                int es = storage.DType.ElementSize();
                if (numel < 0 || numel > long.MaxValue / es)
                {
                    throw For(path, $"{owner} claims {N(numel)} elements at offset {N(at)}, which is impossible");
                }

                long need = numel * es;
                if (need > fs.Length - fs.Position)
                {
                    throw For(path, $"the file is truncated: {owner} needs {N(need)} bytes at offset {N(fs.Position)} but the file ends at {N(fs.Length)}");
                }

                if (need > Array.MaxLength)
                {
                    throw For(path, $"{owner} has {N(need)} bytes, more than one array can hold");
                }

                var data = new byte[need];
                fs.ReadExactly(data);
                storage.Data = data;
            }
            return raw;
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    private static StorageRef LegacyStorage(string path, Dictionary<string, StorageRef> storages, object[] pid)
    {
        if (pid.Length > 0 && pid[0] is "module")
        {
            throw For(path, "refused to load a pickled module class: the checkpoint holds a whole model, not a state dict");
        }
        // ('storage', storage_type, root_key, location, numel, view_metadata)
        var (dtype, key, numel) = ParseStoragePid(path, pid, 6);
        if (!storages.TryGetValue(key, out var root))
        {
            storages[key] = root = new StorageRef(key, dtype, numel);
        }

        if (pid[5] is null)
        {
            return root;
        }
        // An old-style view: (view_key, offset, view_size) into the root storage.
        if (pid[5] is not object[] { Length: 3 } view || view[0] is not string viewKey)
        {
            throw For(path, "the object pickle has a malformed storage view");
        }

        if (storages.TryGetValue(viewKey, out var existing))
        {
            return existing;
        }

        long offset = SafeUnpickler.ToLong(view[1]);
        long size = SafeUnpickler.ToLong(view[2]);
        if (offset < 0 || size < 0 || offset > numel || size > numel - offset)
        {
            throw For(path, $"storage view '{viewKey}' covers elements {N(offset)} to {N(offset + size)} of a storage of {N(numel)}");
        }

        return storages[viewKey] = new StorageRef(viewKey, dtype, size, root, offset);
    }

    private static (DType DType, string Key, long Numel) ParseStoragePid(string path, object[] pid, int length)
    {
        if (pid.Length != length || pid[0] is not "storage")
        {
            throw For(path, $"the pickle has a persistent id that is not a torch storage reference ({pid.Length} fields)");
        }

        if (pid[1] is not SafeUnpickler.StorageType type)
        {
            throw For(path, "the pickle has a storage reference without a storage type");
        }

        if (pid[2] is not string key)
        {
            throw For(path, "the pickle has a storage reference without a key");
        }

        long numel;
        try
        {
            numel = SafeUnpickler.ToLong(pid[4]);
        }
        catch (Razorvine.Pickle.PickleException e)
        {
            throw For(path, $"storage '{key}' has no element count", e);
        }
        if (numel < 0)
        {
            throw For(path, $"storage '{key}' has a negative element count");
        }

        return (type.DType, key, numel);
    }

    private static long StorageBytes(string path, StorageRef s, string tensorName)
    {
        int es = s.DType.ElementSize();
        if (s.Numel > long.MaxValue / es)
        {
            throw For(path, $"tensor '{tensorName}' has a storage of {N(s.Numel)} elements, which is impossible");
        }

        return s.Numel * es;
    }

    /// <summary>Records which tensor first uses each storage, so that errors can name it.</summary>
    private static void NameStorages(object? node, string? name, int depth, HashSet<object> seen)
    {
        if (depth > Limits.MaxPickleDepth || node is null || node is string || !seen.Add(node))
        {
            return;
        }

        switch (node)
        {
            case TensorRef t:
                t.Storage.RootStorage.FirstTensorName ??= name;
                t.Storage.FirstTensorName ??= name;
                break;
            case Hashtable h:
                foreach (DictionaryEntry e in h)
                {
                    NameStorages(e.Value, e.Key as string ?? name, depth + 1, seen);
                }

                break;
            case IList l:
                foreach (object? o in l)
                {
                    NameStorages(o, name, depth + 1, seen);
                }

                break;
        }
    }

    // ---------------------------------------------------------------- state dict and object model

    private static List<KeyValuePair<object, object?>> OrderedEntries(RawCheckpoint raw, Hashtable h)
    {
        var entries = new List<KeyValuePair<object, object?>>(h.Count);
        foreach (DictionaryEntry e in h)
        {
            entries.Add(new(e.Key, e.Value));
        }
        // Razorvine gives dicts as Hashtables (and fills SETITEMS batches backwards), so order keys by
        // where their strings first appear in the pickle: the order Python wrote them.
        return entries
            .OrderBy(e => e.Key is string s && raw.KeyOrder.TryGetValue(s, out long at) ? at : long.MaxValue)
            .ThenBy(e => e.Key.ToString(), StringComparer.Ordinal)
            .ToList();
    }

    private static List<KeyValuePair<string, TensorRef>> Unwrap(RawCheckpoint raw, object? node, int depth)
    {
        if (node is not Hashtable dict)
        {
            throw For(raw.Path, node is TensorRef
                ? "the checkpoint holds a single tensor, not a state dict"
                : $"the checkpoint holds {Describe(node)}, not a state dict");
        }

        var entries = OrderedEntries(raw, dict);
        var tensors = entries
            .Where(e => e.Key is string && e.Value is TensorRef)
            .Select(e => new KeyValuePair<string, TensorRef>((string)e.Key, (TensorRef)e.Value!))
            .ToList();
        if (tensors.Count > 0)
        {
            return tensors;
        }

        if (depth < 4)
        {
            foreach (string key in WrapperKeys)
            {
                if (dict[key] is Hashtable inner && HoldsTensors(inner))
                {
                    return Unwrap(raw, inner, depth + 1);
                }
            }
        }
        string keys = string.Join(", ", entries.Take(8).Select(e => $"'{e.Key}'")) + (entries.Count > 8 ? ", ..." : "");
        throw For(raw.Path, entries.Count == 0
            ? "the checkpoint holds an empty dict, so there is no state dict"
            : $"no state dict found: the dict has keys {keys} and none of 'state_dict', 'model' and the like holds tensors");
    }

    private static bool HoldsTensors(Hashtable h, int depth = 0)
    {
        // Bounded: a hostile pickle can nest dicts far deeper than the call stack.
        if (depth > Limits.MaxPickleDepth)
        {
            return false;
        }

        foreach (DictionaryEntry e in h)
        {
            if (e.Value is TensorRef || (e.Value is Hashtable inner && HoldsTensors(inner, depth + 1)))
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(object? node) => node switch
    {
        null => "None",
        Hashtable => "a dict",
        object[] => "a tuple",
        IList => "a list",
        string => "a string",
        int or long or BigInteger => "an integer",
        double => "a float",
        StorageRef => "a bare storage",
        _ => $"a {node.GetType().Name}",
    };

    private static object? Convert(RawCheckpoint raw, object? node, string path, int depth,
        List<KeyValuePair<string, TensorData>> tensors, Dictionary<object, TensorData> cache, ReadBudget budget)
    {
        if (depth > Limits.MaxPickleDepth)
        {
            throw For(raw.Path, $"the checkpoint nests containers more than {Limits.MaxPickleDepth} levels deep");
        }

        string Child(object key) => path.Length == 0 ? $"{key}" : $"{path}.{key}";
        switch (node)
        {
            case TensorRef or StorageRef:
                if (!cache.TryGetValue(node, out var data))
                {
                    if (node is TensorRef charged)
                    {
                        budget.Charge(charged, path);
                    }

                    data = node is TensorRef t ? Materialize(raw.Path, t, path) : MaterializeStorage(raw.Path, (StorageRef)node, path);
                    cache[node] = data;
                    tensors.Add(new(path, data));
                }
                return data;
            case Hashtable h:
                var dict = new OrderedDictionary<object, object?>();
                foreach (var (k, v) in OrderedEntries(raw, h))
                {
                    dict[k] = Convert(raw, v, Child(k), depth + 1, tensors, cache, budget);
                }

                return dict;
            case object[] tuple:
                return tuple.Select((v, i) => Convert(raw, v, Child(i), depth + 1, tensors, cache, budget)).ToArray();
            case ArrayList list:
                return list.Cast<object?>().Select((v, i) => Convert(raw, v, Child(i), depth + 1, tensors, cache, budget)).ToList();
            case HashSet<object> set:
                return set.Select((v, i) => Convert(raw, v, Child(i), depth + 1, tensors, cache, budget)).ToList();
            case PickledDevice d:
                return d.Text;
            case NumpyDType t:
                return t.Kind;
            default:
                return node;
        }
    }

    private static TensorData MaterializeStorage(string path, StorageRef s, string name)
    {
        var root = s.RootStorage;
        byte[] data = root.Data ??= root.Loader?.Invoke(root, name) ?? throw For(path, $"storage '{root.Key}' of '{name}' has no data in the file");
        int es = s.DType.ElementSize();
        long start = s.ElementOffset * es;
        long length = s.Root is null ? data.Length : s.Numel * es;
        if (start + length > data.Length)
        {
            throw For(path, $"the file is truncated: storage '{s.Key}' of '{name}' needs {N(start + length)} bytes but holds {N(data.Length)}");
        }

        return new TensorData(s.DType, [length / es], data.AsSpan((int)start, (int)length).ToArray());
    }

    /// <summary>The elements of a tensor's shape, refused when negative or more than one array can hold.</summary>
    private static long Numel(string path, TensorRef t, string name)
    {
        string shapeText = string.Join(", ", t.Shape);
        long numel = 1;
        try
        {
            foreach (long d in t.Shape)
            {
                if (d < 0)
                {
                    throw For(path, $"tensor '{name}' has a negative size in shape [{shapeText}]");
                }

                numel = checked(numel * d);
            }
        }
        catch (OverflowException)
        {
            throw For(path, $"tensor '{name}' has shape [{shapeText}], which is too large");
        }

        if (numel > Array.MaxLength / t.Storage.DType.ElementSize())
        {
            throw For(path, $"tensor '{name}' has shape [{shapeText}], more than one array can hold");
        }

        return numel;
    }

    /// <summary>
    /// What reading one file's tensors may cost, charged before each is read: at most <see cref="Limits.MaxCheckpointBytes"/> in all,
    /// and the tensors copied out at most twice the storage they come from (plus 64 MB), so that views which repeat
    /// their data (expand(), stride 0) cannot turn a small file into gigabytes.
    /// </summary>
    private sealed class ReadBudget(string path)
    {
        /// <summary>More than any Res2Net checkpoint holds, optimizer state included (res2net152 with AdamW: 0.75 GB).</summary>

        private readonly HashSet<StorageRef> roots = new(ReferenceEqualityComparer.Instance);
        private long spent;
        private long storage;

        public void Charge(TensorRef t, string name)
        {
            var root = t.Storage.RootStorage;
            if (roots.Add(root))
            {
                storage += root.Numel * root.DType.ElementSize();
            }

            spent += Numel(path, t, name) * t.Storage.DType.ElementSize();
            if (spent > Limits.MaxCheckpointBytes || storage > Limits.MaxCheckpointBytes)
            {
                throw For(path, $"its tensors hold more than the {N(Limits.MaxCheckpointBytes)} bytes any Res2Net checkpoint needs (at '{name}')");
            }

            if (spent > (2 * storage) + Limits.MaxViewOverheadBytes)
            {
                throw For(path, $"its tensors would take {N(spent)} bytes once copied out of {N(storage)} bytes of storage (views that repeat their data, such as expand(), at '{name}')");
            }
        }
    }

    /// <summary>Copies a (possibly strided, offset) view of its storage into contiguous C-order bytes.</summary>
    internal static TensorData Materialize(string path, TensorRef t, string name)
    {
        var storage = t.Storage;
        var root = storage.RootStorage;
        byte[] data = root.Data ??= root.Loader?.Invoke(root, name)
            ?? throw For(path, $"the file is truncated: the data of tensor '{name}' (storage '{root.Key}') is missing");
        int es = storage.DType.ElementSize();
        long available = data.Length / es - storage.ElementOffset;
        if (storage.Root is not null)
        {
            available = Math.Min(available, storage.Numel);
        }

        string shapeText = string.Join(", ", t.Shape);
        long numel = Numel(path, t, name);

        if (numel == 0)
        {
            return new TensorData(storage.DType, t.Shape, []);
        }

        if (t.Offset < 0 || t.Stride.Any(s => s < 0))
        {
            throw For(path, $"tensor '{name}' has a negative storage offset or stride");
        }

        long last = t.Offset;
        try
        {
            for (int i = 0; i < t.Shape.Length; i++)
            {
                last = checked(last + (t.Shape[i] - 1) * t.Stride[i]);
            }
        }
        catch (OverflowException)
        {
            throw For(path, $"tensor '{name}' has strides that reach outside any storage");
        }
        if (last >= available)
        {
            throw For(path, $"the file is truncated or damaged: tensor '{name}' of shape [{shapeText}] needs element {N(last)} of its storage but the storage holds {N(Math.Max(available, 0))}");
        }

        var result = new byte[numel * es];
        long baseByte = (storage.ElementOffset + t.Offset) * es;
        var contiguous = TensorData.ContiguousStrides(t.Shape);
        bool isContiguous = true;
        for (int i = 0; i < t.Shape.Length; i++)
        {
            if (t.Shape[i] > 1 && t.Stride[i] != contiguous[i])
            {
                isContiguous = false;
            }
        }

        if (isContiguous)
        {
            Buffer.BlockCopy(data, (int)baseByte, result, 0, result.Length);
        }
        else
        {
            // Odometer over the index, copying one element at a time.
            int rank = t.Shape.Length;
            var index = new long[rank];
            long src = 0;
            for (long n = 0; n < numel; n++)
            {
                Buffer.BlockCopy(data, (int)(baseByte + src * es), result, (int)(n * es), es);
                for (int d = rank - 1; d >= 0; d--)
                {
                    index[d]++;
                    src += t.Stride[d];
                    if (index[d] < t.Shape[d])
                    {
                        break;
                    }

                    src -= index[d] * t.Stride[d];
                    index[d] = 0;
                }
            }
        }
        return new TensorData(storage.DType, t.Shape, result);
    }
}
