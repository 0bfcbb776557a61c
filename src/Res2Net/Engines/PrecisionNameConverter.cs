using System.Text.Json;
using System.Text.Json.Serialization;

namespace Res2Net.Engines;

/// <summary>Writes a <see cref="Precision"/> as its short name in JSON (<c>fp32</c>, <c>bf16</c>, <c>int8</c>), as scripts read it.</summary>
internal sealed class PrecisionNameConverter : JsonConverter<Precision>
{
    public override Precision Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Precisions.Parse(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, Precision value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name());
}
