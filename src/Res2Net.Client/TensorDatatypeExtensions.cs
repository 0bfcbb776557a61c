using System.Diagnostics.CodeAnalysis;

namespace Res2Net.Client;

/// <summary>The wire names and element sizes of <see cref="TensorDatatype"/>.</summary>
public static class TensorDatatypeExtensions
{
    private static readonly string[] WireNames =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"];

    private static readonly int[] ElementSizes = [1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 0];

    /// <summary>The protocol's name of <paramref name="datatype"/>, for example "FP32" or "BYTES".</summary>
    public static string ToWireName(this TensorDatatype datatype) => WireNames[Index(datatype)];

    /// <summary>
    /// The size of one element in bytes in the binary layout, or 0 for <see cref="TensorDatatype.Bytes"/>, whose elements
    /// vary in length.
    /// </summary>
    public static int GetElementSize(this TensorDatatype datatype) => ElementSizes[Index(datatype)];

    /// <summary>
    /// The datatype a wire name stands for ("FP32", "BYTES", ...; case-insensitive, and "STRING", which the classification
    /// extension's examples use, reads as BYTES).
    /// </summary>
    /// <exception cref="FormatException"><paramref name="wireName"/> is no datatype of the protocol.</exception>
    public static TensorDatatype ParseWireName(string wireName)
    {
        ArgumentNullException.ThrowIfNull(wireName);
        if (!TryParseWireName(wireName, out var datatype))
        {
            throw new FormatException($"'{wireName}' is not an Open Inference Protocol datatype (expected one of {string.Join(", ", WireNames)}).");
        }

        return datatype;
    }

    /// <summary>Like <see cref="ParseWireName"/>, without throwing: false when <paramref name="wireName"/> is no datatype of the protocol.</summary>
    public static bool TryParseWireName([NotNullWhen(true)] string? wireName, out TensorDatatype datatype)
    {
        datatype = default;
        if (wireName is null)
        {
            return false;
        }

        for (var i = 0; i < WireNames.Length; i++)
        {
            if (string.Equals(WireNames[i], wireName, StringComparison.OrdinalIgnoreCase))
            {
                datatype = (TensorDatatype)i;
                return true;
            }
        }

        if (string.Equals(wireName, "STRING", StringComparison.OrdinalIgnoreCase))
        {
            datatype = TensorDatatype.Bytes;
            return true;
        }

        return false;
    }

    private static int Index(TensorDatatype datatype)
    {
        var i = (int)datatype;
        if ((uint)i >= (uint)WireNames.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(datatype), datatype, "Not a TensorDatatype value.");
        }

        return i;
    }
}
