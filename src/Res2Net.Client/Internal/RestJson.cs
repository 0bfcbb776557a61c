using System.Collections.ObjectModel;
using System.Text.Json;

namespace Res2Net.Client.Internal;

/// <summary>Reads the REST answers' JSON: metadata, inference responses (with their binary blobs) and error bodies.</summary>
internal static class RestJson
{
    // Deep enough for nested 'data' of any tensor rank a model has.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>The <c>error</c> text of an error body, or null when the body is empty, not JSON or has none.</summary>
    public static string? ErrorText(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body, DocumentOptions);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error))
            {
                var text = error.ValueKind == JsonValueKind.String ? error.GetString() : error.GetRawText();
                return string.IsNullOrWhiteSpace(text) ? null : text;
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, say): the caller words the error from the status instead.
        }

        return null;
    }

    public static ServerMetadata ReadServerMetadata(ReadOnlyMemory<byte> body, int status)
    {
        return Parse(body, "", status, root => new ServerMetadata(
            String(root, "name") ?? "",
            String(root, "version") ?? "",
            Strings(root, "extensions")));
    }

    public static ModelMetadata ReadModelMetadata(ReadOnlyMemory<byte> body, string model, string prefix, int status)
    {
        return Parse(body, prefix, status, root =>
        {
            var properties = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                foreach (var pair in p.EnumerateObject())
                {
                    if (ScalarText(pair.Value) is string text)
                    {
                        properties[pair.Name] = text;
                    }
                }
            }

            // Some servers put the same kind of information in a 'parameters' object; 'properties' wins a clash.
            if (root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
            {
                foreach (var pair in parameters.EnumerateObject())
                {
                    if (ScalarText(pair.Value) is string text)
                    {
                        properties.TryAdd(pair.Name, text);
                    }
                }
            }

            return new ModelMetadata(
                String(root, "name") ?? model,
                Strings(root, "versions"),
                String(root, "platform") ?? "",
                Tensors(root, "inputs"),
                Tensors(root, "outputs"),
                new ReadOnlyDictionary<string, string>(properties));
        });
    }

    /// <summary>
    /// An inference response: the first <paramref name="jsonLength"/> bytes are JSON (all of them when null) and the
    /// binary outputs' blobs follow in the order of <c>outputs</c>. Binary outputs share <paramref name="body"/>'s memory.
    /// </summary>
    public static InferenceResult ReadInferResponse(ReadOnlyMemory<byte> body, int? jsonLength, string model, string prefix, int status)
    {
        var json = jsonLength is int n ? body[..n] : body;
        var blobs = jsonLength is int m ? body[m..] : ReadOnlyMemory<byte>.Empty;
        return Parse(json, prefix, status, root =>
        {
            var outputs = new List<InferTensor>();
            long offset = 0;
            if (root.TryGetProperty("outputs", out var array))
            {
                if (array.ValueKind != JsonValueKind.Array)
                {
                    throw new FormatException("'outputs' is not an array");
                }

                foreach (var o in array.EnumerateArray())
                {
                    outputs.Add(ReadOutput(o, blobs, jsonLength is not null, ref offset));
                }
            }

            return new InferenceResult
            {
                ModelName = String(root, "model_name") ?? model,
                ModelVersion = NonEmpty(ScalarText(root, "model_version")),
                Id = NonEmpty(ScalarText(root, "id")),
                Outputs = outputs.AsReadOnly(),
                Parameters = Parameters(root),
            };
        });
    }

    private static InferTensor ReadOutput(JsonElement o, ReadOnlyMemory<byte> blobs, bool hasBlobs, ref long offset)
    {
        if (o.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("an entry of 'outputs' is not an object");
        }

        var name = String(o, "name");
        if (string.IsNullOrEmpty(name))
        {
            throw new FormatException("an output has no name");
        }

        var wireName = String(o, "datatype");
        if (!TensorDatatypeExtensions.TryParseWireName(wireName, out var datatype))
        {
            throw new FormatException($"output '{name}' has datatype '{wireName}', which this client does not know");
        }

        var shape = Shape(o, $"output '{name}'");
        if (o.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object
            && p.TryGetProperty("binary_data_size", out var sizeElement))
        {
            if (!sizeElement.TryGetInt64(out var size) || size < 0)
            {
                throw new FormatException($"output '{name}' has binary_data_size {sizeElement.GetRawText()}");
            }

            if (size > 0 && !hasBlobs)
            {
                throw new FormatException($"output '{name}' has {size} bytes of binary data but the answer has no Inference-Header-Content-Length header");
            }

            if (size > blobs.Length - offset)
            {
                throw new FormatException($"output '{name}' needs {size} bytes of binary data at offset {offset} but only {blobs.Length - offset} remain");
            }

            var data = blobs.Slice((int)offset, (int)size);
            offset += size;
            return FromRaw(name, datatype, shape, data);
        }

        if (!o.TryGetProperty("data", out var dataElement))
        {
            throw new FormatException($"output '{name}' has neither 'data' nor a binary_data_size");
        }

        var count = ElementCount(shape, name);
        var raw = JsonTensorData.TryRead(dataElement, datatype, count, out var problem)
            ?? throw new FormatException($"output '{name}': {problem}");
        return FromRaw(name, datatype, shape, raw);
    }

    private static long ElementCount(long[] shape, string name)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0 || (count != 0 && d > Array.MaxLength / count))
            {
                throw new FormatException($"output '{name}' has shape [{string.Join(", ", shape)}]");
            }

            count *= d;
        }

        return count;
    }

    private static InferTensor FromRaw(string name, TensorDatatype datatype, long[] shape, ReadOnlyMemory<byte> data)
    {
        try
        {
            return InferTensor.FromRaw(name, datatype, shape, data);
        }
        catch (ArgumentException e)
        {
            throw new FormatException(e.Message.Split(" (Parameter")[0].TrimEnd('.'), e);
        }
    }

    private static IReadOnlyDictionary<string, object> Parameters(JsonElement root)
    {
        if (!root.TryGetProperty("parameters", out var p) || p.ValueKind != JsonValueKind.Object)
        {
            return ReadOnlyDictionary<string, object>.Empty;
        }

        var parameters = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var pair in p.EnumerateObject())
        {
            object? value = pair.Value.ValueKind switch
            {
                JsonValueKind.String => pair.Value.GetString(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number => pair.Value.TryGetInt64(out var l) ? l : (object)pair.Value.GetDouble(),
                JsonValueKind.Null => null,
                _ => pair.Value.GetRawText(),
            };
            if (value is not null)
            {
                parameters[pair.Name] = value;
            }
        }

        return new ReadOnlyDictionary<string, object>(parameters);
    }

    private static T Parse<T>(ReadOnlyMemory<byte> json, string prefix, int status, Func<JsonElement, T> read)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, DocumentOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"the JSON is a {doc.RootElement.ValueKind}, not an object");
            }

            return read(doc.RootElement);
        }
        catch (JsonException e)
        {
            // Triton writes NaN and infinite outputs as bare NaN/Infinity tokens, which are not JSON.
            throw Errors.Unreadable(prefix, $"it is not valid JSON ({e.Message.TrimEnd('.')}); if the model can output NaN or infinity, ask for binary outputs", status, null, e);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw Errors.Unreadable(prefix, e.Message, status, null, e);
        }
    }

    private static List<TensorMetadata> TensorList(JsonElement array)
    {
        var tensors = new List<TensorMetadata>();
        foreach (var t in array.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("a tensor signature is not an object");
            }

            var name = String(t, "name") ?? "";
            tensors.Add(new TensorMetadata(name, String(t, "datatype") ?? "", Array.AsReadOnly(Shape(t, $"tensor '{name}'"))));
        }

        return tensors;
    }

    private static IReadOnlyList<TensorMetadata> Tensors(JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"'{key}' is not an array");
        }

        return TensorList(array).AsReadOnly();
    }

    private static long[] Shape(JsonElement tensor, string what)
    {
        if (!tensor.TryGetProperty("shape", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{what} has no 'shape' array");
        }

        var shape = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var d in array.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out shape[i]))
            {
                throw new FormatException($"{what} has shape {array.GetRawText()}");
            }

            i++;
        }

        return shape;
    }

    private static string? String(JsonElement obj, string key)
        => obj.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static IReadOnlyList<string> Strings(JsonElement obj, string key)
    {
        if (!obj.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var list = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            if (ScalarText(item) is string text)
            {
                list.Add(text);
            }
        }

        return list.AsReadOnly();
    }

    private static string? ScalarText(JsonElement obj, string key)
        => obj.TryGetProperty(key, out var v) ? ScalarText(v) : null;

    /// <summary>A string, number or boolean as text (numbers as the server wrote them); null for anything else.</summary>
    private static string? ScalarText(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
