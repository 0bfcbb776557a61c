namespace Res2Net.Weights;

/// <summary>Element types that checkpoints of this project can hold.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float.</summary>
    Float32,

    /// <summary>64-bit IEEE float.</summary>
    Float64,

    /// <summary>16-bit IEEE half float.</summary>
    Float16,

    /// <summary>bfloat16: the upper half of a float32.</summary>
    BFloat16,

    /// <summary>Signed 64-bit integer.</summary>
    Int64,

    /// <summary>Signed 32-bit integer.</summary>
    Int32,

    /// <summary>Signed 16-bit integer.</summary>
    Int16,

    /// <summary>Signed 8-bit integer.</summary>
    Int8,

    /// <summary>Unsigned 8-bit integer (byte).</summary>
    UInt8,

    /// <summary>Boolean, one byte.</summary>
    Bool,
}
