namespace Res2Net.AspNetCore.Protocol;

/// <summary>One input tensor of a request, its data read and checked against its shape: floats, or BYTES elements.</summary>
internal sealed class InferInput(string name, string datatype, long[] shape)
{
    /// <summary>The tensor's name.</summary>
    public string Name { get; } = name;

    /// <summary>The protocol datatype.</summary>
    public string Datatype { get; } = datatype;

    /// <summary>The shape as sent.</summary>
    public long[] Shape { get; } = shape;

    /// <summary>An FP32 tensor's values in C order.</summary>
    public float[]? Floats { get; set; }

    /// <summary>A BYTES tensor's elements.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? Elements { get; set; }
}
