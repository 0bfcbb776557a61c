using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Res2Net.Imaging;

namespace Res2Net.Models;

/// <summary>
/// What a set of weights is for, as timm's <c>pretrained_cfg</c> and torchvision's weight metadata record it: the
/// registered model, its input channels, its classes and their names, and the evaluation transform. Written into every
/// file this library saves (a zip checkpoint's <c>res2net/metadata.json</c> entry, a safetensors header, an ONNX
/// file's <c>metadata_props</c>) and read back first by every loader; files from elsewhere get it inferred.
/// </summary>
public sealed record ModelMetadata
{
    /// <summary>The key under which the JSON is stored in safetensors headers and ONNX <c>metadata_props</c>.</summary>
    public const string Key = "res2net.metadata";

    /// <summary>Version of the JSON layout; files with a newer one are read for the fields this version knows.</summary>
    public const int FormatVersion = 1;

    private readonly IReadOnlyList<string> classNames = [];

    /// <summary>The registered model name (see <see cref="ModelRegistry"/>).</summary>
    public required string Model { get; init; }

    /// <summary>Channels of the input image: 3 for RGB, 1 for grayscale.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Classifier outputs (0: a backbone without classifier).</summary>
    public int NumClasses { get; init; }

    /// <summary>One name per class in index order, or empty when the names are unknown (indices are shown instead).</summary>
    public IReadOnlyList<string> ClassNames
    {
        get => classNames;
        init => classNames = Array.AsReadOnly((value ?? throw new ArgumentNullException(nameof(ClassNames))).ToArray());
    }

    /// <summary>The evaluation transform, normalised over <see cref="InChannels"/> channels.</summary>
    public required PreprocessConfig Preprocess { get; init; }

    /// <summary>Total stride of the last stage (32 for classification; 16 or 8 where later stages are dilated).</summary>
    public int OutputStride { get; init; } = 32;

    /// <summary>
    /// The published weights these are, or were fine-tuned from (<see cref="PretrainedConfig.Name"/>, such as
    /// <c>res2net50_26w_4s.in1k</c>); null for weights trained from scratch.
    /// </summary>
    public string? Pretrained { get; init; }

    /// <summary>
    /// The license the weights come under, as an SPDX identifier: the published weights' (<c>CC-BY-NC-SA-4.0</c> for
    /// the official ones, whose terms carry over to weights fine-tuned from them); null when none is known.
    /// </summary>
    public string? License { get; init; }

    /// <inheritdoc/>
    public bool Equals(ModelMetadata? other) =>
        other is not null && Model == other.Model && InChannels == other.InChannels && NumClasses == other.NumClasses
        && OutputStride == other.OutputStride && ClassNames.SequenceEqual(other.ClassNames) && Preprocess.Equals(other.Preprocess)
        && Pretrained == other.Pretrained && License == other.License;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Model, InChannels, NumClasses, ClassNames.Count, Preprocess, License);

    /// <summary>The record as <see cref="ToJson"/> writes it.</summary>
    public override string ToString() => ToJson();

    /// <summary>The name of class <paramref name="index"/>: its recorded name, or the index as text.</summary>
    public string Label(int index) =>
        index >= 0 && index < ClassNames.Count ? ClassNames[index] : index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The record as compact JSON (snake_case keys, as timm's configs).</summary>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["format"] = FormatVersion,
            ["model"] = Model,
            ["in_channels"] = InChannels,
            ["num_classes"] = NumClasses,
            ["class_names"] = new JsonArray([.. ClassNames.Select(n => (JsonNode?)n)]),
            ["input_size"] = Preprocess.InputSize,
            ["crop_pct"] = Preprocess.CropPct,
            ["interpolation"] = PreprocessConfig.Name(Preprocess.Interpolation),
            ["mean"] = new JsonArray([.. Preprocess.Mean.Select(v => (JsonNode?)v)]),
            ["std"] = new JsonArray([.. Preprocess.Std.Select(v => (JsonNode?)v)]),
            ["output_stride"] = OutputStride,
        };
        if (Pretrained is not null)
        {
            json["pretrained"] = Pretrained;
        }

        if (License is not null)
        {
            json["license"] = License;
        }

        return json.ToJsonString();
    }

    /// <summary>
    /// Reads a record written by <see cref="ToJson"/>, checking every field; <paramref name="source"/> names the file in
    /// the one-sentence error.
    /// </summary>
    /// <exception cref="Res2NetException">The JSON is malformed or a field is missing or out of range.</exception>
    public static ModelMetadata FromJson(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > Limits.MaxMetadataChars)
        {
            throw Bad(source, $"its {Key} is {json.Length:N0} characters long, more than metadata can need");
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(source, $"its {Key} is not valid JSON ({e.Message.TrimEnd('.')})");
        }

        if (root is not JsonObject o)
        {
            throw Bad(source, $"its {Key} is not a JSON object");
        }

        var model = Text(o, "model", source);
        var inChannels = Int(o, "in_channels", source, 1, Limits.MaxInChannels);
        var numClasses = Int(o, "num_classes", source, 0, Limits.MaxClasses);
        var names = o["class_names"] is JsonArray array
            ? array.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length <= Limits.MaxNameLength
                ? s : throw Bad(source, $"its {Key} field class_names holds something other than names of at most {Limits.MaxNameLength} characters")).ToArray()
            : throw Bad(source, $"its {Key} has no class_names list");
        if (names.Length != 0 && names.Length != numClasses)
        {
            throw Bad(source, $"its {Key} names {names.Length} classes but num_classes is {numClasses}");
        }

        var crop = o["crop_pct"] is JsonValue c && c.TryGetValue<double>(out var cp) ? cp : throw Bad(source, $"its {Key} field crop_pct is not a number");
        PreprocessConfig preprocess;
        try
        {
            preprocess = new PreprocessConfig(Int(o, "input_size", source, 1, Limits.MaxInputSide), crop, Floats(o, "mean", source, inChannels),
                Floats(o, "std", source, inChannels), PreprocessConfig.ParseInterpolation(Text(o, "interpolation", source)));
            preprocess.Validate();
        }
        catch (InvalidOptionException e)
        {
            throw Bad(source, $"its {Key} has a transform that cannot be used ({e.Message.TrimEnd('.')})");
        }

        return new ModelMetadata
        {
            Model = model,
            InChannels = inChannels,
            NumClasses = numClasses,
            ClassNames = names,
            // Files written before the stride was recorded were built with their registered model's own.
            OutputStride = o.ContainsKey("output_stride") ? Int(o, "output_stride", source, 1, 64)
                : ModelRegistry.TryGet(model, out var registered) ? registered.Config.OutputStride : 32,
            Preprocess = preprocess,
            Pretrained = o.ContainsKey("pretrained") ? Text(o, "pretrained", source) : null,
            License = o.ContainsKey("license") ? Text(o, "license", source) : null,
        };
    }

    /// <summary>Class names read from a <c>classes.txt</c> beside a weights file, one per line, or null when there is none that fits.</summary>
    internal static IReadOnlyList<string>? ClassesBeside(string weightsPath, int numClasses)
    {
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, ImageNetLabels.ClassesFileName);
        try
        {
            var info = new FileInfo(beside);
            if (!info.Exists || info.Length > Limits.MaxClassesFileBytes)
            {
                return null;
            }

            var names = File.ReadAllLines(beside).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            return names.Length == numClasses ? names : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static Res2NetException Bad(string source, string what) => new($"{source}: {what}.");

    private static string Text(JsonObject o, string key, string source) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length is > 0 and <= Limits.MaxNameLength
            ? s : throw Bad(source, $"its {Key} field {key} is missing or not a short text");

    private static int Int(JsonObject o, string key, string source, int min, int max) =>
        o[key] is JsonValue v && v.TryGetValue<int>(out var i) && i >= min && i <= max
            ? i : throw Bad(source, $"its {Key} field {key} is missing or not a whole number from {min} to {max}");

    private static float[] Floats(JsonObject o, string key, string source, int count) =>
        o[key] is JsonArray a && a.Count == count && a.All(n => n is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d))
            ? a.Select(n => (float)n!.GetValue<double>()).ToArray()
            : throw Bad(source, $"its {Key} field {key} is not a list of {count} numbers");
}
