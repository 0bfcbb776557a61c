using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using Res2Net.IO;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header of
/// <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>,
/// then the tensors' bytes, offsets relative to the end of the header.
/// </summary>
internal static class SafeTensors
{
    /// <summary>The tensors of a safetensors file, in file (offset) order.</summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path) => ReadStateDict(path, out _);

    /// <summary>The tensors in file (offset) order, and the header's <c>__metadata__</c> (empty if none).</summary>
    public static IReadOnlyDictionary<string, TensorData> ReadStateDict(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        using var fs = FormatFiles.Open(path);
        long length = fs.Length;
        if (length == 0)
        {
            throw For(path, "the file is empty");
        }

        if (length < 8)
        {
            throw For(path, $"the file is truncated: a safetensors file starts with an 8-byte header length but the file has {N(length)} bytes");
        }

        Span<byte> head = stackalloc byte[8];
        fs.ReadExactly(head);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLength > (ulong)(length - 8))
        {
            throw For(path, $"the file is truncated: the safetensors header length is {N((long)Math.Min(headerLength, long.MaxValue))} bytes but only {N(length - 8)} follow");
        }

        if (headerLength > Limits.MaxSafeTensorsHeaderBytes)
        {
            throw For(path, $"the safetensors header length is {N((long)headerLength)} bytes, more than the {N(Limits.MaxSafeTensorsHeaderBytes)} allowed");
        }

        var header = new byte[headerLength];
        fs.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        long dataLength = length - dataStart;

        var entries = new List<(string Name, DType DType, long[] Shape, long Begin, long End)>();
        var meta = new Dictionary<string, string>();
        try
        {
            using var doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw For(path, "the safetensors header is not a JSON object");
            }

            var names = new HashSet<string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(prop.Name))
                {
                    throw For(path, $"the safetensors header names '{prop.Name}' twice");
                }

                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw For(path, "the safetensors __metadata__ is not a JSON object");
                    }

                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        meta[m.Name] = m.Value.ValueKind == JsonValueKind.String
                            ? m.Value.GetString()!
                            : throw For(path, $"the safetensors __metadata__ value '{m.Name}' is not a string");
                    }

                    continue;
                }
                entries.Add(ParseEntry(path, prop));
            }
        }
        catch (JsonException e)
        {
            throw For(path, $"the safetensors header is not valid JSON ({e.Message.TrimEnd('.')})", e);
        }
        catch (InvalidOperationException e) when (e.InnerException is System.Text.DecoderFallbackException)
        {
            throw For(path, "the safetensors header holds text that is not valid UTF-8", e);
        }

        // Offsets must tile the data exactly: in range, no overlaps, no holes, sizes that match.
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (var e in entries)
        {
            if (e.Begin != expected)
            {
                throw For(path, e.Begin < expected
                    ? $"tensor '{e.Name}' at data offset {N(e.Begin)} overlaps the tensor before it, which ends at {N(expected)}"
                    : $"the safetensors data has a hole of {N(e.Begin - expected)} bytes before tensor '{e.Name}'");
            }

            if (e.End > dataLength)
            {
                throw For(path, $"the file is truncated: tensor '{e.Name}' needs {N(e.End - e.Begin)} bytes at offset {N(dataStart + e.Begin)} but the file ends at {N(length)}");
            }

            expected = e.End;
        }
        if (expected != dataLength)
        {
            throw For(path, $"the safetensors data has {N(dataLength - expected)} bytes after the last tensor");
        }

        // Before anything is read: a (sparse) file of gigabytes is not a Res2Net checkpoint.
        if (dataLength > Limits.MaxCheckpointBytes)
        {
            throw For(path, $"its tensors hold {N(dataLength)} bytes, more than the {N(Limits.MaxCheckpointBytes)} any Res2Net checkpoint needs");
        }

        var result = new OrderedDictionary<string, TensorData>();
        foreach (var e in entries)
        {
            var data = new byte[e.End - e.Begin];
            fs.Position = dataStart + e.Begin;
            fs.ReadExactly(data);
            result[e.Name] = new TensorData(e.DType, e.Shape, data);
        }
        metadata = meta;
        return result;
    }

    private static (string, DType, long[], long, long) ParseEntry(string path, JsonProperty prop)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
        {
            throw For(path, $"the safetensors entry '{name}' lacks a dtype, shape or data_offsets pair");
        }

        string dtypeName = dtypeEl.GetString()!;
        if (!DTypes.TryFromSafeTensorsName(dtypeName, out var dtype))
        {
            throw For(path, $"tensor '{name}' has safetensors dtype '{dtypeName}', which is not supported");
        }

        var shape = new List<long>();
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
            {
                throw For(path, $"tensor '{name}' has a shape that is not a list of non-negative integers");
            }

            shape.Add(dim);
        }
        long begin = 0, end = 0;
        int i = 0;
        foreach (var o in offEl.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long x) || x < 0)
            {
                throw For(path, $"tensor '{name}' has data_offsets that are not non-negative integers");
            }

            if (i++ == 0)
            {
                begin = x;
            }
            else
            {
                end = x;
            }
        }
        if (end < begin)
        {
            throw For(path, $"tensor '{name}' has data_offsets [{N(begin)}, {N(end)}] that end before they begin");
        }

        long numel;
        try
        {
            numel = TensorData.CountElements(shape);
            if (checked(numel * dtype.ElementSize()) != end - begin)
            {
                throw For(path, $"tensor '{name}' of shape [{string.Join(", ", shape)}] and dtype {dtypeName} needs {N(numel * dtype.ElementSize())} bytes but its data_offsets span {N(end - begin)}");
            }
        }
        catch (OverflowException)
        {
            throw For(path, $"tensor '{name}' has shape [{string.Join(", ", shape)}], which is too large");
        }
        if (end - begin > Array.MaxLength)
        {
            throw For(path, $"tensor '{name}' has {N(end - begin)} bytes, more than one array can hold");
        }

        return (name, dtype, shape.ToArray(), begin, end);
    }

    /// <summary>
    /// Writes tensors in the given order with an optional <c>__metadata__</c>; the header is padded
    /// with spaces to a multiple of 8 bytes so that the data is aligned, as the reference writer does.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, TensorData>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata)
                {
                    json.WriteString(k, v);
                }

                json.WriteEndObject();
            }
            long offset = 0;
            var names = new HashSet<string>();
            foreach (var (name, t) in list)
            {
                if (name == "__metadata__" || !names.Add(name))
                {
                    throw new ArgumentException($"tensor name '{name}' is reserved or used twice.", nameof(tensors));
                }

                t.Validate($"tensor '{name}'");
                json.WriteStartObject(name);
                json.WriteString("dtype", t.DType.SafeTensorsName());
                json.WriteStartArray("shape");
                foreach (long d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.Length;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0)
        {
            buffer.WriteByte((byte)' ');
        }

        byte[] header = buffer.ToArray();

        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            fs.Write(len);
            fs.Write(header);
            foreach (var (_, t) in list)
            {
                fs.Write(t.Data);
            }
        });
    }
}
