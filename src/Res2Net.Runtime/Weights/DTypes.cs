namespace Res2Net.Weights;

/// <summary>Sizes and the names that PyTorch, safetensors and numpy use for each <see cref="DType"/>.</summary>
internal static class DTypes
{
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float64 or DType.Int64 => 8,
        DType.Float32 or DType.Int32 => 4,
        DType.Float16 or DType.BFloat16 or DType.Int16 => 2,
        DType.Int8 or DType.UInt8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>The legacy storage class name, e.g. <c>FloatStorage</c> (module <c>torch</c>).</summary>
    public static string TorchStorageName(this DType dtype) => dtype switch
    {
        DType.Float32 => "FloatStorage",
        DType.Float64 => "DoubleStorage",
        DType.Float16 => "HalfStorage",
        DType.BFloat16 => "BFloat16Storage",
        DType.Int64 => "LongStorage",
        DType.Int32 => "IntStorage",
        DType.Int16 => "ShortStorage",
        DType.Int8 => "CharStorage",
        DType.UInt8 => "ByteStorage",
        DType.Bool => "BoolStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>Inverse of <see cref="TorchStorageName"/>; <c>UntypedStorage</c> holds raw bytes.</summary>
    public static bool TryFromTorchStorageName(string name, out DType dtype)
    {
        foreach (var d in All)
        {
            if (d.TorchStorageName() == name)
            {
                dtype = d;
                return true;
            }
        }
        // torch.UntypedStorage: the zip loader of PyTorch treats it as uint8.
        dtype = DType.UInt8;
        return name == "UntypedStorage";
    }

    /// <summary>The dtype name in a safetensors header, e.g. <c>F32</c>.</summary>
    public static string SafeTensorsName(this DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static bool TryFromSafeTensorsName(string name, out DType dtype)
    {
        foreach (var d in All)
        {
            if (d.SafeTensorsName() == name)
            {
                dtype = d;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>The numpy <c>descr</c> of an .npy header, e.g. <c>&lt;f4</c>.</summary>
    public static string NumpyDescr(this DType dtype) => dtype switch
    {
        DType.Float32 => "<f4",
        DType.Float64 => "<f8",
        DType.Float16 => "<f2",
        DType.Int64 => "<i8",
        DType.Int32 => "<i4",
        DType.Int16 => "<i2",
        DType.Int8 => "|i1",
        DType.UInt8 => "|u1",
        DType.Bool => "|b1",
        // numpy has no bfloat16.
        DType.BFloat16 => throw new NotSupportedException("numpy has no bfloat16 dtype."),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static bool TryFromNumpyDescr(string descr, out DType dtype)
    {
        foreach (var d in All)
        {
            if (d != DType.BFloat16 && d.NumpyDescr() == descr)
            {
                dtype = d;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    public static IReadOnlyList<DType> All { get; } = Enum.GetValues<DType>();
}
