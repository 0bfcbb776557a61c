using Google.Protobuf;
using Onnx;
using Res2Net.Engines;
using Res2Net.IO;
using Res2Net.Models;
using static Res2Net.Export.OnnxGraph;
using static TorchSharp.torch;

namespace Res2Net.Export;

/// <summary>
/// Writes a model as an ONNX graph built from its own structure (each family writes its stem, blocks and trees, see
/// <see cref="Res2NetBackbone.WriteOnnx"/>) rather than by tracing: batch norm is folded into the preceding convolution
/// (in double precision), the Res2Net groups become Split/Concat, and the first block of each stage can run its
/// independent 3x3 convolutions as one grouped convolution. With <see cref="OnnxExportOptions.Precision"/> INT8 the graph
/// is quantized in ONNX's QDQ form with ranges measured on calibration inputs.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Bumped whenever the graph the exporter writes changes, so cached exports are rebuilt.</summary>
    public const int FormatVersion = 1;

    private const string InputName = OnnxEngine.InputName;
    private const string LogitsName = OnnxEngine.LogitsName;
    private const string EmbeddingName = OnnxEngine.EmbeddingName;

    /// <summary>Writes the model's graph to <paramref name="path"/> (see the library's atomic writes).</summary>
    /// <param name="model">The model, in eval mode or not (the graph is the inference graph).</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="options">The graph's shape, outputs and precision; null: the defaults (float32, dynamic shapes).</param>
    /// <param name="calibration">INT8 only: representative inputs, normalised as the model takes them (see <see cref="CalibrationSet"/>).</param>
    /// <param name="cancellationToken">Stops calibration between batches.</param>
    /// <exception cref="InvalidOptionException">An option is out of range, or INT8 lacks calibration inputs.</exception>
    public static void Export(Res2NetBackbone model, string path, OnnxExportOptions? options = null, IEnumerable<FloatTensor>? calibration = null,
        CancellationToken cancellationToken = default)
    {
        using var graph = Build(model, options, calibration, cancellationToken);
        Write(graph.Proto, path);
    }

    /// <summary>The model's graph as the bytes of an ONNX file (see <see cref="Export"/>).</summary>
    public static byte[] ExportBytes(Res2NetBackbone model, OnnxExportOptions? options = null, IEnumerable<FloatTensor>? calibration = null,
        CancellationToken cancellationToken = default)
    {
        using var graph = Build(model, options, calibration, cancellationToken);
        return graph.Proto.ToByteArray();
    }

    /// <summary>Writes a graph through a temporary file and a rename (an interrupted write leaves no half file).</summary>
    internal static void Write(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, model.WriteTo);
    }

    /// <summary>Sets (or replaces) one entry of a graph's <c>metadata_props</c>.</summary>
    internal static void SetProperty(ModelProto model, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(model);
        var existing = model.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (existing is not null)
        {
            existing.Value = value;
        }
        else
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
    }

    /// <summary>The float32 graph, with <paramref name="properties"/> added to its <c>metadata_props</c>.</summary>
    internal static OnnxModel Build(Res2NetBackbone model, OnnxExportOptions options, params (string Key, string Value)[] properties)
    {
        var graph = Build(model, options with { Precision = Precision.Float32 }, null, CancellationToken.None);
        foreach (var (key, value) in properties)
        {
            SetProperty(graph.Proto, key, value);
        }

        return graph;
    }

    /// <summary>
    /// The ONNX model as protobuf objects, with the model's <see cref="ModelMetadata"/> in its <c>metadata_props</c>
    /// (the input size set to the fixed size, if any) so that an engine opening the file knows what it runs; quantized
    /// when the options say INT8.
    /// </summary>
    internal static OnnxModel Build(Res2NetBackbone model, OnnxExportOptions? options, IEnumerable<FloatTensor>? calibration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        options.Validate();
        if (options.Precision == Precision.Int8 && (calibration is null || options.Size is null))
        {
            throw new InvalidOptionException(nameof(OnnxExportOptions.Precision), "int8 needs calibration inputs and a fixed square Size");
        }

        if (options.Precision != Precision.Int8 && calibration is not null)
        {
            throw new InvalidOptionException("Calibration", "only applies to an int8 export");
        }

        var name = model.ModelName ?? model.GetType().Name;
        var g = new OnnxGraph(name, options.Opset);
        try
        {
            return new OnnxModel(Build(model, options, calibration, g, name, cancellationToken), g);
        }
        catch
        {
            g.Dispose();
            throw;
        }
    }

    private static ModelProto Build(Res2NetBackbone model, OnnxExportOptions options, IEnumerable<FloatTensor>? calibration, OnnxGraph g, string name,
        CancellationToken cancellationToken)
    {
        var writer = new OnnxWriter(g, options);
        using var noGrad = no_grad();
        long?[] inputDims = [options.Batch, model.Config.InChannels, options.Height, options.Width];
        g.AddInput(InputName, inputDims, ["batch", "", "height", "width"]);

        if (options.LastStage > model.Stages.Count)
        {
            throw new InvalidOptionException(nameof(OnnxExportOptions.LastStage), $"must be at most {model.Stages.Count}, the stages of {name} (got {options.LastStage})");
        }

        var (features, stages) = model.WriteOnnx(writer, InputName, options.LastStage ?? model.Stages.Count);

        long? batch = options.Batch;
        if (options.LastStage is null)
        {
            Head(g, writer, model, features, options, batch);
        }

        if (options.Stages || options.LastStage is not null)
        {
            for (var i = 0; i < stages.Count; i++)
            {
                var info = model.Stages[i];
                // Spatial sides stay symbolic: how odd sizes round differs between the model families.
                var output = g.Node("Identity", info.Name, [stages[i]]);
                g.AddOutput(output, [batch, info.Channels, null, null], ["batch", "", $"{info.Name}_height", $"{info.Name}_width"]);
            }
        }

        var m = new ModelProto
        {
            IrVersion = options.Opset <= 17 ? 8 : options.Opset <= 20 ? 9 : 10,
            ProducerName = "Res2Net for .NET",
            ProducerVersion = FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Graph = g.Graph,
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = options.Opset });
        var metadata = model.Metadata;
        if (options.Size is { } size)
        {
            // A square graph of fixed size takes photos preprocessed to that size.
            metadata = metadata with { Preprocess = metadata.Preprocess with { InputSize = size } };
        }

        SetProperty(m, ModelMetadata.Key, metadata.ToJson());
        SetProperty(m, OnnxEngine.PrecisionKey, Precision.Float32.Name());
        if (options.Precision == Precision.Int8)
        {
            var batches = calibration!.TakeWhile(_ => !cancellationToken.IsCancellationRequested).ToList();
            cancellationToken.ThrowIfCancellationRequested();
            if (batches.Count == 0)
            {
                throw new InvalidOptionException("Calibration", "gave no input; an int8 export needs at least one image");
            }

            m = OnnxQuantizer.Quantize(m, OnnxQuantizer.Calibrate(m, batches, cancellationToken: cancellationToken));
            SetProperty(m, OnnxEngine.PrecisionKey, Precision.Int8.Name());
        }

        return m;
    }

    /// <summary>The pooled embedding and the classifier, with their outputs.</summary>
    private static void Head(OnnxGraph g, OnnxWriter writer, Res2NetBackbone model, string features, OnnxExportOptions options, long? batch)
    {
        var pooled = g.Node("GlobalAveragePool", "pool", [features]);
        var embedding = g.Node("Flatten", EmbeddingName, [pooled], Int("axis", 1));
        string? logits = null;
        if (model.Config.NumClasses > 0)
        {
            logits = model.WriteOnnxClassifier(writer, pooled, embedding, LogitsName);
        }

        if (logits is not null)
        {
            g.AddOutput(logits, [batch, model.Config.NumClasses], ["batch", ""]);
        }

        if (options.Embedding || logits is null)
        {
            g.AddOutput(embedding, [batch, model.NumFeatures], ["batch", ""]);
        }
    }
}
