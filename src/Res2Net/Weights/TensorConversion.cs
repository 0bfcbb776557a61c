using static TorchSharp.torch;

namespace Res2Net.Weights;

/// <summary>Moves tensors between the format layer (<see cref="TensorData"/>, no LibTorch) and TorchSharp.</summary>
public static class TensorConversion
{
    /// <summary>A CPU tensor with the data (copied).</summary>
    public static Tensor ToTensor(this TensorData data)
    {
        var t = empty(data.Shape, ToScalarType(data.DType));
        if (data.Data.Length > 0)
        {
            t.bytes = data.Data;
        }

        return t;
    }

    /// <summary>The tensor's data as contiguous little-endian bytes (copied).</summary>
    public static TensorData ToTensorData(this Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var t = tensor.detach().cpu().contiguous();
        return new TensorData(FromScalarType(t.dtype), t.shape, t.numel() == 0 ? [] : t.bytes.ToArray());
    }

    /// <summary>LibTorch's element type for a <see cref="DType"/>.</summary>
    public static ScalarType ToScalarType(DType d) => d switch
    {
        DType.Float32 => ScalarType.Float32,
        DType.Float64 => ScalarType.Float64,
        DType.Float16 => ScalarType.Float16,
        DType.BFloat16 => ScalarType.BFloat16,
        DType.Int64 => ScalarType.Int64,
        DType.Int32 => ScalarType.Int32,
        DType.Int16 => ScalarType.Int16,
        DType.Int8 => ScalarType.Int8,
        DType.UInt8 => ScalarType.Byte,
        DType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(d), $"No LibTorch type for {d}."),
    };

    /// <summary>The <see cref="DType"/> of a LibTorch element type.</summary>
    public static DType FromScalarType(ScalarType t) => t switch
    {
        ScalarType.Float32 => DType.Float32,
        ScalarType.Float64 => DType.Float64,
        ScalarType.Float16 => DType.Float16,
        ScalarType.BFloat16 => DType.BFloat16,
        ScalarType.Int64 => DType.Int64,
        ScalarType.Int32 => DType.Int32,
        ScalarType.Int16 => DType.Int16,
        ScalarType.Int8 => DType.Int8,
        ScalarType.Byte => DType.UInt8,
        ScalarType.Bool => DType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"Tensors of type {t} cannot be saved."),
    };
}
