using System.Globalization;
using System.Text;
using Onnx;
using Res2Net.IO;
using Res2Net.Models;

namespace Res2Net.Export;

/// <summary>
/// Writes a Triton Inference Server model repository for an exported graph: <c>DIR/NAME/config.pbtxt</c>,
/// <c>DIR/NAME/1/model.onnx</c> and <c>DIR/NAME/labels.txt</c>. The configuration (Triton's <c>ModelConfig</c> in
/// protobuf text format) names the graph's own inputs and outputs with their dims, for ONNX Runtime on CPU, with
/// dynamic batching. Triton takes preprocessed tensors: the metadata (mean, std, input size) is in the configuration's
/// parameters and in the ONNX file.
/// </summary>
public static class TritonRepository
{
    /// <summary>The longest a request waits in Triton's queue for others to batch with (5 ms, as <c>res2net serve</c>).</summary>
    public const int MaxQueueDelayMicroseconds = 5000;

    /// <summary>
    /// Exports <paramref name="model"/> into a Triton model repository (its graph with a dynamic batch, at the fixed
    /// size of <paramref name="options"/> or else of the model's own input), and returns the model's folder.
    /// </summary>
    /// <param name="model">The model; its registered name names the Triton model, its class names become labels.txt.</param>
    /// <param name="repository">The model repository folder (made if missing).</param>
    /// <param name="options">How the graph is exported (its batch stays dynamic); null: float32 at the model's input size.</param>
    /// <param name="maxBatch">Triton's max_batch_size: the most images it batches into one run.</param>
    /// <param name="calibration">INT8 only: representative inputs, normalised as the model takes them.</param>
    /// <param name="cancellationToken">Stops calibration between batches.</param>
    /// <exception cref="InvalidOptionException">The batch size is out of range or the options fix the batch dimension.</exception>
    public static string Write(Res2NetBackbone model, string repository, OnnxExportOptions? options = null, int maxBatch = 8,
        IEnumerable<FloatTensor>? calibration = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(repository);
        if (maxBatch is < 1 or > 1024)
        {
            throw new InvalidOptionException("MaxBatch", $"must be from 1 to 1,024 (got {maxBatch})");
        }

        options ??= new OnnxExportOptions();
        if (options.Batch is not null)
        {
            throw new InvalidOptionException("Batch", "must be dynamic for a Triton repository (Triton batches requests itself)");
        }

        // Triton's dims are fixed: the input size the weights were trained for, unless another is asked for.
        options = options with { Size = options.Size ?? model.Metadata.Preprocess.InputSize };
        using var exported = OnnxExporter.Build(model, options, calibration, cancellationToken);
        var graph = exported.Proto;
        var metadata = model.Metadata with { Preprocess = model.Metadata.Preprocess with { InputSize = options.Size!.Value } };
        var name = metadata.Model;
        var folder = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        OnnxExporter.Write(graph, Path.Combine(folder, "1", "model.onnx"));
        var labels = metadata.ClassNames.Count > 0;
        if (labels)
        {
            AtomicFile.WriteAllBytes(Path.Combine(folder, "labels.txt"), Encoding.UTF8.GetBytes(string.Join('\n', metadata.ClassNames) + "\n"));
        }

        AtomicFile.WriteAllBytes(Path.Combine(folder, "config.pbtxt"), Encoding.UTF8.GetBytes(Config(graph, metadata, maxBatch, labels)));
        return folder;
    }

    /// <summary>The configuration in protobuf text format.</summary>
    internal static string Config(ModelProto graph, ModelMetadata metadata, int maxBatch, bool labels)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"name: {Quote(metadata.Model)}\n");
        text.Append("platform: \"onnxruntime_onnx\"\n");
        text.Append("backend: \"onnxruntime\"\n");
        text.Append(CultureInfo.InvariantCulture, $"max_batch_size: {maxBatch}\n");
        foreach (var input in graph.Graph.Input)
        {
            text.Append("input {\n");
            text.Append(CultureInfo.InvariantCulture, $"  name: {Quote(input.Name)}\n");
            text.Append("  data_type: TYPE_FP32\n");
            text.Append("  format: FORMAT_NCHW\n");
            text.Append(CultureInfo.InvariantCulture, $"  dims: [ {string.Join(", ", Dims(input).Skip(1))} ]\n");
            text.Append("}\n");
        }

        foreach (var output in graph.Graph.Output)
        {
            text.Append("output {\n");
            text.Append(CultureInfo.InvariantCulture, $"  name: {Quote(output.Name)}\n");
            text.Append("  data_type: TYPE_FP32\n");
            text.Append(CultureInfo.InvariantCulture, $"  dims: [ {string.Join(", ", Dims(output).Skip(1))} ]\n");
            if (labels && output.Name == Engines.OnnxEngine.LogitsName)
            {
                text.Append("  label_filename: \"labels.txt\"\n");
            }

            text.Append("}\n");
        }

        text.Append("dynamic_batching {\n");
        text.Append(CultureInfo.InvariantCulture, $"  preferred_batch_size: [ {maxBatch} ]\n");
        text.Append(CultureInfo.InvariantCulture, $"  max_queue_delay_microseconds: {MaxQueueDelayMicroseconds}\n");
        text.Append("}\n");
        text.Append("instance_group {\n  count: 1\n  kind: KIND_CPU\n}\n");
        text.Append("parameters {\n");
        text.Append(CultureInfo.InvariantCulture, $"  key: {Quote(ModelMetadata.Key)}\n");
        text.Append(CultureInfo.InvariantCulture, $"  value {{ string_value: {Quote(metadata.ToJson())} }}\n");
        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>A value's dims: fixed sizes, -1 where the graph names a symbolic one.</summary>
    private static long[] Dims(ValueInfoProto value) =>
        value.Type.TensorType.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray();

    /// <summary>A protobuf text-format string literal.</summary>
    private static string Quote(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            text.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }

        return text.Append('"').ToString();
    }
}
