using System.Runtime.InteropServices;
using Res2Net.Imaging;
using static TorchSharp.torch;

namespace Res2Net;

/// <summary>Moves data between Res2Net.Runtime's plain types (<see cref="FloatTensor"/>, <see cref="DecodedImage"/>) and TorchSharp tensors.</summary>
public static class TensorBridge
{
    /// <summary>A float32 CPU tensor with the same shape and values (copied).</summary>
    public static Tensor ToTensor(this FloatTensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var t = empty(values.ShapeArray(), ScalarType.Float32);
        if (values.Values.Length > 0)
        {
            t.bytes = MemoryMarshal.AsBytes(MemoryMarshal.AsMemory(values.Values).Span);
        }

        return t;
    }

    /// <summary>The tensor's values as float32, copied into a <see cref="FloatTensor"/>.</summary>
    public static FloatTensor ToFloatTensor(this Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var t = tensor.detach().cpu().to(ScalarType.Float32).contiguous();
        return new FloatTensor(t.numel() == 0 ? [] : t.data<float>().ToArray(), t.shape);
    }

    /// <summary>The pixels as a uint8 tensor of shape (3, Height, Width), or (1, Height, Width) of PIL's luminance.</summary>
    public static Tensor ToTensor(this DecodedImage image, int channels = 3)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (channels == 1)
        {
            return tensor(image.ToLuminance(), [1, image.Height, image.Width], ScalarType.Byte);
        }

        if (channels != 3)
        {
            throw new InvalidOptionException("Channels", $"must be 1 (luminance) or 3 (RGB), not {channels}");
        }

        using var scope = NewDisposeScope();
        return tensor(image.Rgb.ToArray(), [image.Height, image.Width, 3], ScalarType.Byte).permute(2, 0, 1).contiguous().MoveToOuterDisposeScope();
    }
}
