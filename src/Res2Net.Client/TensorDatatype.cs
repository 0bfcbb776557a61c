namespace Res2Net.Client;

/// <summary>
/// The element type of a tensor, as the Open Inference Protocol names them. The wire names ("BOOL", "UINT8", ...,
/// "FP32", "BYTES") come from <see cref="TensorDatatypeExtensions.ToWireName"/> and are read back with
/// <see cref="TensorDatatypeExtensions.ParseWireName"/>.
/// </summary>
public enum TensorDatatype
{
    /// <summary>"BOOL": one byte, 0 or 1.</summary>
    Bool,

    /// <summary>"UINT8": unsigned 8-bit integer.</summary>
    UInt8,

    /// <summary>"UINT16": unsigned 16-bit integer.</summary>
    UInt16,

    /// <summary>"UINT32": unsigned 32-bit integer.</summary>
    UInt32,

    /// <summary>"UINT64": unsigned 64-bit integer.</summary>
    UInt64,

    /// <summary>"INT8": signed 8-bit integer.</summary>
    Int8,

    /// <summary>"INT16": signed 16-bit integer.</summary>
    Int16,

    /// <summary>"INT32": signed 32-bit integer.</summary>
    Int32,

    /// <summary>"INT64": signed 64-bit integer.</summary>
    Int64,

    /// <summary>"FP16": IEEE 754 half precision (binary only: it cannot travel as JSON).</summary>
    FP16,

    /// <summary>"BF16": bfloat16, the upper 16 bits of an FP32 (binary only: it cannot travel as JSON).</summary>
    BF16,

    /// <summary>"FP32": IEEE 754 single precision.</summary>
    FP32,

    /// <summary>"FP64": IEEE 754 double precision.</summary>
    FP64,

    /// <summary>"BYTES": variable-length byte strings (text, encoded photos), each prefixed by its 4-byte little-endian length.</summary>
    Bytes,
}
