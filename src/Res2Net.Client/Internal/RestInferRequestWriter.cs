using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Res2Net.Client.Internal;

/// <summary>
/// The JSON of a REST inference request, and with the binary tensor extension the blobs that follow it (one per input,
/// in input order).
/// </summary>
internal static class RestInferRequestWriter
{
    public static (byte[] Json, IReadOnlyList<ReadOnlyMemory<byte>> Blobs) Write(InferenceRequest request, bool binary)
    {
        var blobs = new List<ReadOnlyMemory<byte>>();
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (request.Id is not null)
            {
                w.WriteString("id", request.Id);
            }

            // With no outputs listed, this is how the binary extension asks for all of them as binary data.
            var allOutputsBinary = binary && request.Outputs.Count == 0 && !request.Parameters.ContainsKey("binary_data_output");
            if (request.Parameters.Count > 0 || allOutputsBinary)
            {
                w.WriteStartObject("parameters");
                foreach (var pair in request.Parameters)
                {
                    w.WritePropertyName(pair.Key);
                    WriteParameter(w, pair.Key, ParameterValues.Normalize(pair.Key, pair.Value));
                }

                if (allOutputsBinary)
                {
                    w.WriteBoolean("binary_data_output", true);
                }

                w.WriteEndObject();
            }

            w.WriteStartArray("inputs");
            foreach (var input in request.Inputs)
            {
                w.WriteStartObject();
                w.WriteString("name", input.Name);
                w.WriteString("datatype", input.Datatype.ToWireName());
                w.WriteStartArray("shape");
                foreach (var d in input.Shape)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                if (binary)
                {
                    w.WriteStartObject("parameters");
                    w.WriteNumber("binary_data_size", input.Data.Length);
                    w.WriteEndObject();
                    blobs.Add(input.Data);
                }
                else
                {
                    w.WriteStartArray("data");
                    WriteData(w, input);
                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (request.Outputs.Count > 0)
            {
                w.WriteStartArray("outputs");
                foreach (var output in request.Outputs)
                {
                    w.WriteStartObject();
                    w.WriteString("name", output.Name);
                    var outputBinary = output.Binary ?? binary;

                    // binary_data is written when true, and when the caller chose false; a plain JSON request stays free of it.
                    var writeBinary = outputBinary || output.Binary == false;
                    if (writeBinary || output.Classification is not null)
                    {
                        w.WriteStartObject("parameters");
                        if (writeBinary)
                        {
                            w.WriteBoolean("binary_data", outputBinary);
                        }

                        if (output.Classification is int k)
                        {
                            w.WriteNumber("classification", k);
                        }

                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        return (buffer.WrittenSpan.ToArray(), blobs);
    }

    private static void WriteParameter(Utf8JsonWriter w, string key, object value)
    {
        switch (value)
        {
            case string s:
                w.WriteStringValue(s);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case ulong u:
                w.WriteNumberValue(u);
                break;
            case double d when double.IsFinite(d):
                w.WriteNumberValue(d);
                break;
            default:
                throw new ArgumentException($"Parameter '{key}' is {value}, which JSON cannot carry.", nameof(InferenceRequest.Parameters));
        }
    }

    /// <summary>The elements as a flat JSON array's items (the caller writes the brackets).</summary>
    private static void WriteData(Utf8JsonWriter w, InferTensor t)
    {
        var s = t.Data.Span;
        switch (t.Datatype)
        {
            case TensorDatatype.Bool:
                foreach (var b in s)
                {
                    w.WriteBooleanValue(b != 0);
                }

                break;
            case TensorDatatype.UInt8:
                foreach (var b in s)
                {
                    w.WriteNumberValue((uint)b);
                }

                break;
            case TensorDatatype.Int8:
                foreach (var b in s)
                {
                    w.WriteNumberValue((sbyte)b);
                }

                break;
            case TensorDatatype.UInt16:
                for (var i = 0; i < s.Length; i += 2)
                {
                    w.WriteNumberValue((uint)BinaryPrimitives.ReadUInt16LittleEndian(s[i..]));
                }

                break;
            case TensorDatatype.Int16:
                for (var i = 0; i < s.Length; i += 2)
                {
                    w.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(s[i..]));
                }

                break;
            case TensorDatatype.UInt32:
                for (var i = 0; i < s.Length; i += 4)
                {
                    w.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(s[i..]));
                }

                break;
            case TensorDatatype.Int32:
                for (var i = 0; i < s.Length; i += 4)
                {
                    w.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(s[i..]));
                }

                break;
            case TensorDatatype.UInt64:
                for (var i = 0; i < s.Length; i += 8)
                {
                    w.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(s[i..]));
                }

                break;
            case TensorDatatype.Int64:
                for (var i = 0; i < s.Length; i += 8)
                {
                    w.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(s[i..]));
                }

                break;
            case TensorDatatype.FP32:
                for (var i = 0; i < s.Length; i += 4)
                {
                    var f = BinaryPrimitives.ReadSingleLittleEndian(s[i..]);
                    if (!float.IsFinite(f))
                    {
                        throw NotJson(t, $"element {i / 4} is {f}, which JSON cannot carry");
                    }

                    // Utf8JsonWriter writes a float as its shortest round-trip form ("0.1", not "0.10000000149011612").
                    w.WriteNumberValue(f);
                }

                break;
            case TensorDatatype.FP64:
                for (var i = 0; i < s.Length; i += 8)
                {
                    var d = BinaryPrimitives.ReadDoubleLittleEndian(s[i..]);
                    if (!double.IsFinite(d))
                    {
                        throw NotJson(t, $"element {i / 8} is {d}, which JSON cannot carry");
                    }

                    w.WriteNumberValue(d);
                }

                break;
            case TensorDatatype.Bytes:
                var elements = t.ToBytesElements();
                for (var i = 0; i < elements.Count; i++)
                {
                    if (!Utf8.IsValid(elements[i].Span))
                    {
                        throw NotJson(t, $"element {i} is not valid UTF-8, and JSON carries BYTES only as text");
                    }

                    w.WriteStringValue(elements[i].Span);
                }

                break;
            default:
                throw NotJson(t, $"the protocol does not allow {t.Datatype.ToWireName()} data in JSON");
        }
    }

    private static ArgumentException NotJson(InferTensor t, string problem)
        => new($"Input '{t.Name}' cannot be sent as JSON: {problem}. Send it with the binary tensor extension (InferenceClientOptions.BinaryData = true) or over gRPC.", nameof(InferenceRequest.Inputs));
}
