using System.Buffers.Binary;
using System.Text;
using Res2Net.IO;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>numpy's .npy format (versions 1 to 3), C-order little-endian arrays only.</summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>
    /// Reads an .npy file (a regular file; sizes checked against the file, and against <see cref="Limits.MaxNpyBytes"/>, before
    /// anything is allocated).
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable .npy array, or is too large.</exception>
    public static TensorData Read(string path)
    {
        using var fs = FormatFiles.Open(path);
        return Read(fs, path);
    }

    /// <summary>Reads an .npy array from a seekable stream; <paramref name="path"/> names it in errors.</summary>
    internal static TensorData Read(Stream fs, string path)
    {
        long length = fs.Length;
        if (length == 0)
        {
            throw For(path, "the file is empty");
        }

        var pre = new byte[Math.Min(length, 12)];
        fs.ReadExactly(pre);
        if (pre.Length < 8 || !pre.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw For(path, fs is FileStream ? $"not a .npy file ({FormatFiles.DescribeStart(path)})" : "not a .npy array");
        }

        int major = pre[6];
        int lengthBytes = major switch
        {
            1 => 2,
            2 or 3 => 4,
            _ => throw For(path, $"the .npy format version {major}.{pre[7]} is not supported"),
        };
        if (pre.Length < 8 + lengthBytes)
        {
            throw For(path, "the file is truncated: the .npy header length is missing");
        }

        long headerLength = lengthBytes == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(pre.AsSpan(8))
            : BinaryPrimitives.ReadUInt32LittleEndian(pre.AsSpan(8));
        long headerStart = 8 + lengthBytes;
        if (headerLength > length - headerStart)
        {
            throw For(path, $"the file is truncated: the .npy header needs {N(headerLength)} bytes but only {N(length - headerStart)} follow");
        }

        var headerBytes = new byte[headerLength];
        fs.Position = headerStart;
        fs.ReadExactly(headerBytes);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var dict = HeaderParser.Parse(path, header);
        if (!dict.TryGetValue("descr", out var descrObj) || descrObj is not string descr)
        {
            throw For(path, "the .npy header has no 'descr'");
        }

        if (!DTypes.TryFromNumpyDescr(descr, out var dtype))
        {
            throw For(path, $"the .npy dtype '{descr}' is not supported (only little-endian <f4, <f8, <f2, <i8, <i4, <i2, |i1, |u1 and |b1 are)");
        }

        if (!dict.TryGetValue("fortran_order", out var fortran) || fortran is not bool isFortran)
        {
            throw For(path, "the .npy header has no 'fortran_order'");
        }

        if (isFortran)
        {
            throw For(path, "the array is stored in Fortran order; only C order is supported");
        }

        if (!dict.TryGetValue("shape", out var shapeObj) || shapeObj is not List<long> shapeList)
        {
            throw For(path, "the .npy header has no 'shape' tuple");
        }

        long[] shape = shapeList.ToArray();
        long need;
        try
        {
            need = checked(TensorData.CountElements(shape) * dtype.ElementSize());
        }
        catch (Exception e) when (e is OverflowException or ArgumentException)
        {
            throw For(path, $"the .npy shape ({string.Join(", ", shape)}) is impossible", e);
        }
        long dataStart = headerStart + headerLength;
        if (need > length - dataStart)
        {
            throw For(path, $"the file is truncated: the array of shape ({string.Join(", ", shape)}) needs {N(need)} bytes at offset {N(dataStart)} but the file ends at {N(length)}");
        }

        if (need > Limits.MaxNpyBytes)
        {
            throw For(path, $"the array has {N(need)} bytes, more than the {N(Limits.MaxNpyBytes)} read at once; split it into smaller .npy files");
        }

        var data = new byte[need];
        fs.ReadExactly(data);
        return new TensorData(dtype, shape, data);
    }

    /// <summary>Writes a version 1.0 .npy file (float32 as <c>&lt;f4</c>), header padded to 64 bytes like numpy.</summary>
    public static void Write(string path, TensorData tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.Validate(Path.GetFileName(path));
        AtomicFile.Write(path, fs => Write(fs, tensor));
    }

    /// <summary>Writes an .npy array to a stream.</summary>
    internal static void Write(Stream fs, TensorData tensor)
    {
        string shape = tensor.Shape.Length == 1 ? $"({tensor.Shape[0]},)" : $"({string.Join(", ", tensor.Shape)})";
        string dict = $"{{'descr': '{tensor.DType.NumpyDescr()}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        fs.Write(Magic);
        fs.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, checked((ushort)header.Length));
        fs.Write(len);
        fs.Write(Encoding.Latin1.GetBytes(header));
        fs.Write(tensor.Data);
    }

    /// <summary>
    /// Parses the Python dict literal of an .npy header: string keys; values that are strings,
    /// True/False or tuples of integers. No library parses Python literals, and this is all numpy writes.
    /// </summary>
    private sealed class HeaderParser(string path, string text)
    {
        private int _pos;

        public static Dictionary<string, object> Parse(string path, string text)
        {
            var p = new HeaderParser(path, text);
            var result = new Dictionary<string, object>();
            p.Expect('{');
            while (true)
            {
                p.SkipSpace();
                if (p.TryTake('}'))
                {
                    break;
                }

                string key = p.ReadString();
                p.Expect(':');
                result[key] = p.ReadValue();
                p.SkipSpace();
                if (!p.TryTake(','))
                {
                    p.Expect('}');
                    break;
                }
            }
            return result;
        }

        private object ReadValue()
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] is '\'' or '"')
            {
                return ReadString();
            }

            if (TryWord("True"))
            {
                return true;
            }

            if (TryWord("False"))
            {
                return false;
            }

            if (TryTake('('))
            {
                var dims = new List<long>();
                while (true)
                {
                    SkipSpace();
                    if (TryTake(')'))
                    {
                        return dims;
                    }

                    int start = _pos;
                    while (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
                    {
                        _pos++;
                    }
                    // numpy 1.x wrote "3L" for longs under Python 2.
                    if (_pos == start || !long.TryParse(text.AsSpan(start, _pos - start), out long dim))
                    {
                        throw Bad();
                    }

                    TryTake('L');
                    dims.Add(dim);
                    SkipSpace();
                    if (!TryTake(','))
                    {
                        Expect(')');
                        return dims;
                    }
                }
            }
            throw Bad();
        }

        private string ReadString()
        {
            SkipSpace();
            if (_pos >= text.Length || text[_pos] is not ('\'' or '"'))
            {
                throw Bad();
            }

            char quote = text[_pos++];
            int end = text.IndexOf(quote, _pos);
            if (end < 0)
            {
                throw Bad();
            }

            string s = text[_pos..end];
            _pos = end + 1;
            return s;
        }

        private bool TryWord(string word)
        {
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) != 0)
            {
                return false;
            }

            _pos += word.Length;
            return true;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private bool TryTake(char c)
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] == c)
            {
                _pos++;
                return true;
            }
            return false;
        }

        private void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw Bad();
            }
        }

        private CheckpointFormatException Bad() =>
            For(path, $"the .npy header is not a valid header dict (at character {_pos}: \"{text.Trim()}\")");
    }
}
