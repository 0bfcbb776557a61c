using System.Globalization;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>
/// Runs a protocol request on a served model, whichever transport brought it: checks its one input against the model's
/// (preprocessed FP32 images, or encoded photos decoded and preprocessed as <c>/v1/classify</c> does), computes only the
/// outputs asked for in one pass per batch through the model's queue, and answers the classification extension.
/// </summary>
internal static class InferenceRunner
{
    /// <summary>The outputs of <paramref name="request"/>, in the order asked for (the model's order when it asked for none).</summary>
    public static async Task<IReadOnlyList<InferOutput>> RunAsync(Res2NetClassifier model, ProtocolModel description, InferRequest request,
        CancellationToken cancellationToken)
    {
        var wanted = Outputs(description, request);
        var images = await InputsAsync(model, description, request, cancellationToken).ConfigureAwait(false);
        var logits = wanted.Any(w => w.Spec.Stage is null);
        var stages = wanted.Where(w => w.Spec.Stage is not null).Select(w => w.Spec.Stage!.Value).Distinct().ToArray();
        var rows = await Task.WhenAll(images.Select(image => model.RunAsync(image, logits, stages, request.Timeout, cancellationToken))).ConfigureAwait(false);

        var outputs = new List<InferOutput>(wanted.Count);
        foreach (var (spec, asked) in wanted)
        {
            var index = spec.Stage is { } stage ? (logits ? 1 : 0) + Array.IndexOf(stages, stage) : 0;
            var rowShape = rows[0][index].ShapeArray();
            var size = rows[0][index].Values.Length;
            var values = new float[(long)size * rows.Length];
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i][index].Values.Span.CopyTo(values.AsSpan(i * size, size));
            }

            var binary = asked?.Binary ?? request.BinaryDataOutput;
            if (asked?.Classification is { } k)
            {
                var labels = spec.Stage is null ? model.Metadata.ClassNames : [];
                outputs.Add(Classify(spec.Name, values, rows.Length, size, k, labels, binary));
            }
            else
            {
                outputs.Add(new InferOutput(spec.Name, Datatypes.Fp32, [rows.Length, .. rowShape]) { Floats = values, Binary = binary });
            }
        }

        return outputs;
    }

    /// <summary>The model's outputs a request asks for, each with how it asked (null: not named, so default settings).</summary>
    private static List<(TensorSpec Spec, RequestedOutput? Asked)> Outputs(ProtocolModel description, InferRequest request)
    {
        if (request.Outputs is null || request.Outputs.Count == 0)
        {
            return description.Outputs.Select(o => (o, (RequestedOutput?)null)).ToList();
        }

        var wanted = new List<(TensorSpec, RequestedOutput?)>();
        foreach (var asked in request.Outputs)
        {
            var spec = description.Outputs.FirstOrDefault(o => o.Name == asked.Name)
                ?? throw ProtocolException.Bad($"Model '{description.Name}' has no output '{asked.Name}' (it has {Names(description.Outputs)}).");
            if (wanted.Any(w => w.Item1.Name == asked.Name))
            {
                throw ProtocolException.Bad($"Output '{asked.Name}' is asked for twice.");
            }

            if (asked.Classification is < 1)
            {
                throw ProtocolException.Bad($"Output '{asked.Name}': classification must be at least 1 (got {asked.Classification}).");
            }

            wanted.Add((spec, asked));
        }

        return wanted;
    }

    /// <summary>The request's images, preprocessed, one (C, H, W) tensor each.</summary>
    private static async Task<IReadOnlyList<FloatTensor>> InputsAsync(Res2NetClassifier model, ProtocolModel description, InferRequest request,
        CancellationToken cancellationToken)
    {
        var tensor = description.Inputs[0];
        var photos = description.Inputs[1];
        var takes = $"'{tensor.Name}' ({tensor.Datatype} {Datatypes.Shape(tensor.Shape)}, preprocessed images) or '{photos.Name}' ({photos.Datatype} {Datatypes.Shape(photos.Shape)}, encoded photos)";
        if (request.Inputs.Count != 1)
        {
            throw ProtocolException.Bad($"Model '{description.Name}' takes one input per request, {takes}; the request has {request.Inputs.Count}.");
        }

        var input = request.Inputs[0];
        var limit = model.Service.MaxImagesPerRequest;
        if (input.Name == tensor.Name)
        {
            var expected = tensor.Shape[1..];
            if (input.Datatype != Datatypes.Fp32)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' must be {Datatypes.Fp32} (got {input.Datatype}).");
            }

            if (input.Shape.Length != 4 || !input.Shape.AsSpan(1).SequenceEqual(expected) || input.Shape[0] < 1)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' must have shape [N, {string.Join(", ", expected)}] with N at least 1 (got {Datatypes.Shape(input.Shape)}).");
            }

            if (input.Shape[0] > limit)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' holds {input.Shape[0]} images, more than the {limit} one request may carry.");
            }

            var batch = new FloatTensor(input.Floats!, input.Shape);
            return Enumerable.Range(0, (int)input.Shape[0]).Select(i => batch.Row(i)).ToArray();
        }

        if (input.Name == photos.Name)
        {
            if (input.Datatype != Datatypes.Bytes)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' must be {Datatypes.Bytes}: each element one encoded photo (got {input.Datatype}).");
            }

            if (input.Shape.Length is < 1 or > 2 || (input.Shape.Length == 2 && input.Shape[1] != 1) || input.Shape[0] < 1)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' must have shape [N] or [N, 1] with N at least 1 (got {Datatypes.Shape(input.Shape)}).");
            }

            if (input.Shape[0] > limit)
            {
                throw ProtocolException.Bad($"Input '{input.Name}' holds {input.Shape[0]} photos, more than the {limit} one request may carry.");
            }

            var elements = input.Elements!;
            return await Task.WhenAll(elements.Select((photo, i) =>
                model.PreprocessAsync(photo, elements.Count == 1 ? $"input '{input.Name}'" : $"input '{input.Name}' element {i}", cancellationToken))).ConfigureAwait(false);
        }

        throw ProtocolException.Bad($"Model '{description.Name}' has no input '{input.Name}'; it takes {takes}.");
    }

    /// <summary>
    /// The classification extension: per row, the <paramref name="k"/> largest values as "value:index:label" (Triton's
    /// format: the value with six decimals; no label where there is none), highest first, ties by index.
    /// </summary>
    private static InferOutput Classify(string name, float[] values, int rows, int size, int k, IReadOnlyList<string> labels, bool binary)
    {
        var top = Math.Min(k, size);
        var elements = new List<byte[]>(rows * top);
        var order = new int[size];
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * size, size);
            for (var i = 0; i < size; i++)
            {
                order[i] = i;
            }

            var copy = row.ToArray();
            Array.Sort(order, (a, b) => copy[b].CompareTo(copy[a]) is var c && c != 0 ? c : a.CompareTo(b));
            for (var i = 0; i < top; i++)
            {
                var index = order[i];
                var text = ((double)row[index]).ToString("F6", CultureInfo.InvariantCulture) + ":" + index.ToString(CultureInfo.InvariantCulture)
                    + (index < labels.Count ? ":" + labels[index] : "");
                elements.Add(Datatypes.Utf8(text));
            }
        }

        return new InferOutput(name, Datatypes.Bytes, [rows, top]) { Elements = elements, Binary = binary, Classification = k };
    }

    private static string Names(IEnumerable<TensorSpec> specs) => string.Join(", ", specs.Select(s => $"'{s.Name}'"));
}
