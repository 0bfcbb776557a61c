using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>
/// The protocol's REST body, read and written without a document model: the JSON header streamed with
/// <see cref="Utf8JsonReader"/> (each tensor's values parsed straight into one array sized from its shape, the shape
/// checked against the bytes first), and Triton's binary tensor extension (blobs after the header, in input order).
/// </summary>
internal static class RestCodec
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = Limits.MaxJsonDepth, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>
    /// Reads an inference request: <paramref name="headerLength"/> is the <c>Inference-Header-Content-Length</c>
    /// header (null: the whole body is JSON).
    /// </summary>
    /// <exception cref="ProtocolException">The body is malformed or disagrees with itself.</exception>
    public static InferRequest ReadInfer(ReadOnlyMemory<byte> body, long? headerLength)
    {
        if (headerLength is { } declared && (declared < 0 || declared > body.Length))
        {
            throw ProtocolException.Bad($"Inference-Header-Content-Length is {declared:N0}, but the body has {body.Length:N0} bytes.");
        }

        if (headerLength == 0)
        {
            throw ProtocolException.Bad(
                "A raw binary request (Inference-Header-Content-Length: 0) is not taken here: the model has two inputs ('input' and 'image'), so send a JSON header naming one.");
        }

        var header = body[..(int)(headerLength ?? body.Length)];
        var blobs = body[header.Length..];
        try
        {
            return Parse(header.Span, blobs);
        }
        catch (JsonException e)
        {
            throw ProtocolException.Bad($"The request's JSON is malformed: {e.Message.Split(" Path:")[0].Split(" LineNumber:")[0].TrimEnd('.')}.");
        }
    }

    private static InferRequest Parse(ReadOnlySpan<byte> json, ReadOnlyMemory<byte> blobs)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        Expect(ref reader, JsonTokenType.StartObject, "The request");
        string? id = null;
        var inputs = new List<InferInput>();
        List<RequestedOutput>? outputs = null;
        var binaryOutput = false;
        TimeSpan? timeout = null;
        var blobOffset = 0;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            Next(ref reader);
            switch (key)
            {
                case "id":
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw ProtocolException.Bad("The request's 'id' must be a string.");
                    break;
                case "parameters":
                    foreach (var (name, value) in Parameters(ref reader, "the request"))
                    {
                        switch (name)
                        {
                            case "binary_data_output":
                                binaryOutput = value is bool b ? b : throw ProtocolException.Bad("Parameter 'binary_data_output' must be true or false.");
                                break;
                            case "timeout":
                                timeout = value is long us and >= 0 ? TimeSpan.FromMicroseconds(Math.Min(us, 3_600_000_000L))
                                    : throw ProtocolException.Bad("Parameter 'timeout' must be a whole number of microseconds.");
                                break;
                            default:
                                throw Unsupported($"parameter '{name}'", "the request takes 'binary_data_output' and 'timeout'");
                        }
                    }

                    break;
                case "inputs":
                    Expect(ref reader, JsonTokenType.StartArray, "'inputs'", advance: false);
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        inputs.Add(Input(ref reader, json.Length, blobs, ref blobOffset));
                    }

                    break;
                case "outputs":
                    Expect(ref reader, JsonTokenType.StartArray, "'outputs'", advance: false);
                    outputs = [];
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        outputs.Add(Output(ref reader));
                    }

                    break;
                default:
                    // Triton ignores what it does not know at this level (model_name, for one): so does this server.
                    reader.Skip();
                    break;
            }
        }

        if (blobOffset != blobs.Length)
        {
            throw ProtocolException.Bad($"The request has {blobs.Length - blobOffset:N0} bytes of binary data after its inputs' (the binary_data_size values add up to {blobOffset:N0}).");
        }

        return new InferRequest { Id = id, Inputs = inputs, Outputs = outputs, BinaryDataOutput = binaryOutput, Timeout = timeout };
    }

    private static InferInput Input(ref Utf8JsonReader reader, int jsonBytes, ReadOnlyMemory<byte> blobs, ref int blobOffset)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw ProtocolException.Bad("Each entry of 'inputs' must be an object.");
        }

        string? name = null, datatype = null;
        long[]? shape = null;
        long? binarySize = null;
        var data = default(Utf8JsonReader);
        var hasData = false;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            Next(ref reader);
            switch (key)
            {
                case "name":
                    name = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw ProtocolException.Bad("An input's 'name' must be a string.");
                    break;
                case "datatype":
                    datatype = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw ProtocolException.Bad("An input's 'datatype' must be a string.");
                    break;
                case "shape":
                    shape = Shape(ref reader, name);
                    break;
                case "parameters":
                    foreach (var (parameter, value) in Parameters(ref reader, $"input '{name}'"))
                    {
                        binarySize = parameter == "binary_data_size"
                            ? value is long n and >= 0 ? n : throw ProtocolException.Bad($"Input '{name}': binary_data_size must be a whole number of bytes.")
                            : throw Unsupported($"input parameter '{parameter}'", "an input takes 'binary_data_size'");
                    }

                    break;
                case "data":
                    // The shape may come after the data: the values are read once the object has been seen whole.
                    data = reader;
                    hasData = true;
                    reader.Skip();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (name is null || datatype is null || shape is null)
        {
            throw ProtocolException.Bad($"An input needs 'name', 'datatype' and 'shape'{(name is null ? "" : $" (input '{name}' lacks {(datatype is null ? "'datatype'" : "'shape'")})")}.");
        }

        if (!Datatypes.IsKnown(datatype))
        {
            throw ProtocolException.Bad($"Input '{name}' has datatype '{datatype}', which is not one of the protocol's (BOOL, UINT8..UINT64, INT8..INT64, FP16, BF16, FP32, FP64, BYTES).");
        }

        if (hasData == binarySize.HasValue)
        {
            throw ProtocolException.Bad($"Input '{name}' must carry its values either in 'data' or as binary data ('binary_data_size' in its parameters), {(hasData ? "not both" : "and has neither")}.");
        }

        var input = new InferInput(name, datatype, shape);
        if (binarySize is { } size)
        {
            if (size > blobs.Length - blobOffset)
            {
                throw ProtocolException.Bad($"Input '{name}' declares {size:N0} bytes of binary data, but only {blobs.Length - blobOffset:N0} follow the JSON header.");
            }

            var blob = blobs.Slice(blobOffset, (int)size);
            blobOffset += (int)size;
            Binary(input, blob);
        }
        else
        {
            Values(input, ref data, jsonBytes);
        }

        return input;
    }

    /// <summary>An input's binary data, checked against its shape: FP32 as little-endian floats, BYTES as length-prefixed elements.</summary>
    internal static void Binary(InferInput input, ReadOnlyMemory<byte> blob)
    {
        if (input.Datatype == Datatypes.Fp32)
        {
            // The shape's size is checked against the bytes that are there before anything is allocated.
            var count = Datatypes.ElementCount(input.Name, input.Shape, long.MaxValue / 8, 1);
            if (count * sizeof(float) != blob.Length)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' has {blob.Length:N0} bytes of data, not the {count * sizeof(float):N0} its shape {Datatypes.Shape(input.Shape)} of FP32 needs.");
            }

            var floats = new float[count];
            blob.Span.CopyTo(MemoryMarshal.AsBytes(floats.AsSpan()));
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("The protocol's binary data is little-endian; this server runs on little-endian CPUs only.");
            }

            input.Floats = floats;
        }
        else if (input.Datatype == Datatypes.Bytes)
        {
            var count = Datatypes.ElementCount(input.Name, input.Shape, long.MaxValue / 8, 1);
            if (count > blob.Length / 4)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' has {blob.Length:N0} bytes of data, too few for the {count:N0} BYTES elements its shape {Datatypes.Shape(input.Shape)} says (each takes at least 4).");
            }

            input.Elements = Datatypes.SplitBytes(input.Name, blob, count);
        }

        // Other datatypes are refused by name once the input is matched against the model's.
    }

    /// <summary>
    /// An input's JSON values (flat or nested arrays) into one array of the shape's size: numbers for FP32, base64
    /// strings for BYTES (encoded photos cannot travel as JSON text).
    /// </summary>
    private static void Values(InferInput input, ref Utf8JsonReader reader, int jsonBytes)
    {
        if (input.Datatype == Datatypes.Fp32)
        {
            // Each JSON number takes at least two bytes with its separator.
            var floats = new float[Datatypes.ElementCount(input.Name, input.Shape, jsonBytes, 2)];
            var count = 0;
            Walk(ref reader, input.Name, (ref Utf8JsonReader r) =>
            {
                if (r.TokenType != JsonTokenType.Number || !r.TryGetDouble(out var value) || !float.IsFinite((float)value))
                {
                    throw ProtocolException.Bad($"Input '{input.Name}' must hold finite numbers only (element {count} is not one).");
                }

                if (count == floats.Length)
                {
                    throw TooMany(input, floats.Length);
                }

                floats[count++] = (float)value;
            });
            if (count != floats.Length)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' holds {count:N0} values, not the {floats.Length:N0} its shape {Datatypes.Shape(input.Shape)} says.");
            }

            input.Floats = floats;
        }
        else if (input.Datatype == Datatypes.Bytes)
        {
            var elements = new ReadOnlyMemory<byte>[Datatypes.ElementCount(input.Name, input.Shape, jsonBytes, 3)];
            var count = 0;
            Walk(ref reader, input.Name, (ref Utf8JsonReader r) =>
            {
                if (r.TokenType != JsonTokenType.String || !r.TryGetBytesFromBase64(out var bytes))
                {
                    throw ProtocolException.Bad($"Input '{input.Name}': element {count} must be a base64 string (JSON carries BYTES elements, such as photos, in base64).");
                }

                if (count == elements.Length)
                {
                    throw TooMany(input, elements.Length);
                }

                elements[count++] = bytes;
            });
            if (count != elements.Length)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' holds {count:N0} elements, not the {elements.Length:N0} its shape {Datatypes.Shape(input.Shape)} says.");
            }

            input.Elements = elements;
        }
        else
        {
            reader.Skip();
        }
    }

    private delegate void LeafReader(ref Utf8JsonReader reader);

    /// <summary>Visits the leaves of a (nested) JSON array in order; the reader's depth limit bounds the nesting.</summary>
    private static void Walk(ref Utf8JsonReader reader, string input, LeafReader leaf)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw ProtocolException.Bad($"Input '{input}': 'data' must be an array.");
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
        {
            if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.EndArray)
            {
                continue;
            }

            if (reader.TokenType == JsonTokenType.StartObject)
            {
                throw ProtocolException.Bad($"Input '{input}': 'data' must hold values or arrays of them, not objects.");
            }

            leaf(ref reader);
        }
    }

    private static ProtocolException TooMany(InferInput input, long count) =>
        ProtocolException.Bad($"Input '{input.Name}' holds more than the {count:N0} values its shape {Datatypes.Shape(input.Shape)} says.");

    private static long[] Shape(ref Utf8JsonReader reader, string? name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw ProtocolException.Bad($"Input '{name}': 'shape' must be an array of whole numbers.");
        }

        var shape = new List<long>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var d) || d < 0)
            {
                throw ProtocolException.Bad($"Input '{name}': 'shape' must be an array of whole numbers, none negative.");
            }

            if (shape.Count == 16)
            {
                throw ProtocolException.Bad($"Input '{name}': 'shape' has more than 16 dimensions.");
            }

            shape.Add(d);
        }

        return [.. shape];
    }

    private static RequestedOutput Output(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw ProtocolException.Bad("Each entry of 'outputs' must be an object.");
        }

        string? name = null;
        bool? binary = null;
        int? classification = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            Next(ref reader);
            switch (key)
            {
                case "name":
                    name = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw ProtocolException.Bad("An output's 'name' must be a string.");
                    break;
                case "parameters":
                    foreach (var (parameter, value) in Parameters(ref reader, $"output '{name}'"))
                    {
                        switch (parameter)
                        {
                            case "binary_data":
                                binary = value is bool b ? b : throw ProtocolException.Bad($"Output '{name}': binary_data must be true or false.");
                                break;
                            case "classification":
                                classification = value is long k and >= 1 and <= int.MaxValue ? (int)k
                                    : throw ProtocolException.Bad($"Output '{name}': classification must be a whole number, at least 1.");
                                break;
                            default:
                                throw Unsupported($"output parameter '{parameter}'", "an output takes 'binary_data' and 'classification'");
                        }
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new RequestedOutput(name ?? throw ProtocolException.Bad("Each entry of 'outputs' needs a 'name'."), binary, classification);
    }

    /// <summary>A parameters object: string, whole number, other number or boolean values, as the protocol allows.</summary>
    private static List<(string Name, object Value)> Parameters(ref Utf8JsonReader reader, string owner)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw ProtocolException.Bad($"The parameters of {owner} must be an object.");
        }

        var parameters = new List<(string, object)>();
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            Next(ref reader);
            object value = reader.TokenType switch
            {
                JsonTokenType.True => true,
                JsonTokenType.False => false,
                JsonTokenType.String => reader.GetString()!,
                JsonTokenType.Number when reader.TryGetInt64(out var n) => n,
                JsonTokenType.Number => reader.GetDouble(),
                _ => throw ProtocolException.Bad($"Parameter '{name}' of {owner} must be a string, a number or a boolean."),
            };
            if (parameters.Count == 64)
            {
                throw ProtocolException.Bad($"The parameters of {owner} are more than 64.");
            }

            parameters.Add((name, value));
        }

        return parameters;
    }

    private static ProtocolException Unsupported(string what, string takes) => what.Contains("shared_memory", StringComparison.Ordinal)
        ? new ProtocolException(ProtocolError.BadRequest, $"The {what} is not supported: this server has no shared-memory extension ({takes}).")
        : ProtocolException.Bad($"The {what} is not one this server takes ({takes}).");

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw ProtocolException.Bad("The request's JSON ends early.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what, bool advance = true)
    {
        if ((advance ? Next(ref reader) : reader.TokenType) != type)
        {
            throw ProtocolException.Bad($"{what} must be a JSON {(type == JsonTokenType.StartObject ? "object" : "array")}.");
        }
    }

    /// <summary>
    /// Writes an answer: the JSON header, then the binary outputs' data in output order. Returns the header's length
    /// when binary data follows (the <c>Inference-Header-Content-Length</c> to send), else null.
    /// </summary>
    public static int? WriteInfer(IBufferWriter<byte> body, string model, string version, string? id, IReadOnlyList<InferOutput> outputs)
    {
        var header = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (!string.IsNullOrEmpty(id))
            {
                json.WriteString("id", id);
            }

            json.WriteString("model_name", model);
            json.WriteString("model_version", version);
            json.WriteStartArray("outputs");
            foreach (var output in outputs)
            {
                json.WriteStartObject();
                json.WriteString("name", output.Name);
                json.WriteString("datatype", output.Datatype);
                json.WriteStartArray("shape");
                foreach (var d in output.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                if (output.Binary || output.Classification is not null)
                {
                    json.WriteStartObject("parameters");
                    if (output.Classification is { } k)
                    {
                        json.WriteNumber("classification", k);
                    }

                    if (output.Binary)
                    {
                        json.WriteNumber("binary_data_size", BinarySize(output));
                    }

                    json.WriteEndObject();
                }

                if (!output.Binary)
                {
                    WriteData(json, output);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        body.Write(header.WrittenSpan);
        var binary = false;
        foreach (var output in outputs.Where(o => o.Binary))
        {
            if (output.Floats is { } floats)
            {
                body.Write(MemoryMarshal.AsBytes(floats.AsSpan()));
            }
            else
            {
                body.Write(Datatypes.JoinBytes(output.Elements!));
            }

            binary |= BinarySize(output) > 0;
        }

        return binary ? header.WrittenCount : null;
    }

    private static long BinarySize(InferOutput output) => output.Floats is { } f ? (long)f.Length * sizeof(float) : output.Elements!.Sum(e => 4L + e.Length);

    private static void WriteData(Utf8JsonWriter json, InferOutput output)
    {
        json.WriteStartArray("data");
        if (output.Floats is { } floats)
        {
            foreach (var value in floats)
            {
                if (!float.IsFinite(value))
                {
                    throw ProtocolException.Bad($"Output '{output.Name}' holds values that are not finite (NaN or infinity), which JSON cannot carry; ask for it as binary data.");
                }

                json.WriteNumberValue(value);
            }
        }
        else
        {
            foreach (var element in output.Elements!)
            {
                json.WriteStringValue(System.Text.Encoding.UTF8.GetString(element));
            }
        }

        json.WriteEndArray();
    }
}
