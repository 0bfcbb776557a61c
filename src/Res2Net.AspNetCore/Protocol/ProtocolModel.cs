using System.Globalization;
using System.Text.Json;
using Res2Net.Engines;
using Res2Net.Imaging;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>
/// A served model as the Open Inference Protocol describes it: the graph's own tensor names (input <c>input</c>, FP32
/// <c>[-1, C, H, W]</c>; outputs <c>logits</c>, <c>embedding</c> and, where the model offers them, <c>c2</c>..<c>c5</c>),
/// the encoded-photo input <c>image</c> (BYTES), the platform, and the model's metadata as properties.
/// </summary>
internal sealed class ProtocolModel
{
    /// <summary>The tensor input: preprocessed images.</summary>
    public const string TensorInput = OnnxEngine.InputName;

    /// <summary>The encoded-photo input: JPEG, PNG, ... bytes, decoded and preprocessed on the server.</summary>
    public const string ImageInput = "image";

    /// <summary>
    /// Describes a model served as <paramref name="name"/>: <paramref name="rows"/> are the outputs of one pass over one
    /// image (the logits when the model has classes, then each of <paramref name="offered"/>), which give their shapes.
    /// </summary>
    public ProtocolModel(string name, Res2NetModelOptions options, Predictor predictor, IReadOnlyList<FeatureStage> offered, IReadOnlyList<FloatTensor> rows)
    {
        var metadata = predictor.Metadata;
        var preprocess = predictor.Preprocessor.Config;
        Name = name;
        Version = options.Version;
        Platform = predictor.EngineKind == EngineKind.Torch ? "pytorch_libtorch" : "onnxruntime_onnx";
        Inputs =
        [
            new TensorSpec(TensorInput, "FP32", [-1, metadata.InChannels, preprocess.InputSize, preprocess.InputSize]),
            new TensorSpec(ImageInput, "BYTES", [-1]),
        ];
        var outputs = new List<TensorSpec>();
        var logits = metadata.NumClasses > 0;
        if (logits)
        {
            outputs.Add(new TensorSpec(OnnxEngine.LogitsName, "FP32", [.. rows[0].Shape.Select((d, i) => i == 0 ? -1 : d)]));
        }

        for (var i = 0; i < offered.Count; i++)
        {
            outputs.Add(new TensorSpec(OnnxEngine.StageName(offered[i]), "FP32", [.. rows[(logits ? 1 : 0) + i].Shape.Select((d, j) => j == 0 ? -1 : d)], offered[i]));
        }

        Outputs = outputs;
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = metadata.Model,
            ["engine"] = predictor.EngineKind.Name(),
            ["precision"] = predictor.Precision.Name(),
            ["input_size"] = Text(preprocess.InputSize),
            ["crop_pct"] = Text(preprocess.CropPct),
            ["interpolation"] = PreprocessConfig.Name(preprocess.Interpolation),
            ["mean"] = JsonSerializer.Serialize(preprocess.Mean),
            ["std"] = JsonSerializer.Serialize(preprocess.Std),
            ["in_channels"] = Text(metadata.InChannels),
            ["num_classes"] = Text(metadata.NumClasses),
            ["output_stride"] = Text(metadata.OutputStride),
            ["max_batch_size"] = Text(options.MaxBatch),
        };
        if (metadata.ClassNames.Count > 0)
        {
            properties["labels"] = JsonSerializer.Serialize(metadata.ClassNames);
        }

        if (metadata.Pretrained is { } pretrained)
        {
            properties["pretrained"] = pretrained;
        }

        if (metadata.License is { } license)
        {
            properties["license"] = license;
        }

        Properties = properties;
    }

    /// <summary>The name the model is served under.</summary>
    public string Name { get; }

    /// <summary>The one version served.</summary>
    public string Version { get; }

    /// <summary>Triton's platform name for the engine: <c>onnxruntime_onnx</c> or <c>pytorch_libtorch</c>.</summary>
    public string Platform { get; }

    /// <summary>The inputs a request may carry (one of them per request).</summary>
    public IReadOnlyList<TensorSpec> Inputs { get; }

    /// <summary>The outputs a request may ask for; all of them when it names none.</summary>
    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>The model's metadata: preprocessing, labels, license, engine.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
