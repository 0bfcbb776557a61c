namespace Res2Net.AspNetCore.Protocol;

/// <summary>One output tensor of an answer: FP32 values, or BYTES elements (classification results).</summary>
internal sealed class InferOutput(string name, string datatype, long[] shape)
{
    /// <summary>The tensor's name.</summary>
    public string Name { get; } = name;

    /// <summary>The protocol datatype.</summary>
    public string Datatype { get; } = datatype;

    /// <summary>The shape.</summary>
    public long[] Shape { get; } = shape;

    /// <summary>An FP32 output's values in C order.</summary>
    public float[]? Floats { get; init; }

    /// <summary>A BYTES output's elements (UTF-8 text for classification results).</summary>
    public IReadOnlyList<byte[]>? Elements { get; init; }

    /// <summary>REST: whether it is sent as binary data after the JSON header.</summary>
    public bool Binary { get; init; }

    /// <summary>The classification parameter it answers, echoed in its parameters.</summary>
    public int? Classification { get; init; }
}
