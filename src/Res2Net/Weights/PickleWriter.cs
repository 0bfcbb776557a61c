using System.Buffers.Binary;
using System.Text;

namespace Res2Net.Weights;

/// <summary>
/// Writes protocol-2 pickles opcode by opcode, in the layout torch.save emits. Razorvine's Pickler
/// is not used because it cannot emit torch's persistent ids with storage classes as bare globals,
/// keeps no dict order and is customised only through process-wide registries.
/// </summary>
internal sealed class PickleWriter
{
    private readonly MemoryStream _out = new();
    private readonly Dictionary<string, int> _memo = [];

    public PickleWriter() => _out.Write([0x80, 2]); // PROTO 2

    public byte[] ToArray() => _out.ToArray();

    public void Stop() => _out.WriteByte((byte)'.');

    public void Mark() => _out.WriteByte((byte)'(');

    public void Tuple() => _out.WriteByte((byte)'t');

    public void EmptyTuple() => _out.WriteByte((byte)')');

    public void EmptyDict() => _out.WriteByte((byte)'}');

    public void SetItems() => _out.WriteByte((byte)'u');

    public void Reduce() => _out.WriteByte((byte)'R');

    /// <summary>BINPERSID: the tuple on the stack is the persistent id (torch's storage reference).</summary>
    public void PersistentId() => _out.WriteByte((byte)'Q');

    public void None() => _out.WriteByte((byte)'N');

    public void Bool(bool value) => _out.WriteByte(value ? (byte)0x88 : (byte)0x89);

    public void Int(long value)
    {
        if (value is >= 0 and <= byte.MaxValue)
        {
            _out.Write([(byte)'K', (byte)value]);
        }
        else if (value is >= 0 and <= ushort.MaxValue)
        {
            _out.WriteByte((byte)'M');
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value);
            _out.Write(b);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            _out.WriteByte((byte)'J');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            _out.Write(b);
        }
        else
        {
            // LONG1: little-endian two's complement, 8 bytes is always enough for a long.
            _out.Write([0x8a, 8]);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(b, value);
            _out.Write(b);
        }
    }

    public void Float(double value)
    {
        _out.WriteByte((byte)'G');
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, value); // BINFLOAT is big-endian
        _out.Write(b);
    }

    public void String(string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        _out.WriteByte((byte)'X');
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, utf8.Length);
        _out.Write(b);
        _out.Write(utf8);
    }

    /// <summary>A string written once and then fetched from the memo, as pickle does for repeats.</summary>
    public void MemoString(string value) => Memoized("s:" + value, () => String(value));

    /// <summary>GLOBAL module.name, memoized so repeats cost a BINGET.</summary>
    public void Global(string module, string name) =>
        Memoized("g:" + module + "." + name, () => _out.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n")));

    public void IntTuple(IReadOnlyList<long> values)
    {
        Mark();
        foreach (long v in values)
        {
            Int(v);
        }

        Tuple();
    }

    /// <summary>
    /// A plain value of a checkpoint's metadata: null, bool, integers, floats, strings, or a
    /// string-keyed dictionary of these (written as a dict).
    /// </summary>
    public void Value(object? value)
    {
        switch (value)
        {
            case null:
                None();
                break;
            case bool b:
                Bool(b);
                break;
            case int or long or short or byte or sbyte or ushort or uint:
                Int(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case float or double:
                Float(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case string s:
                String(s);
                break;
            case IEnumerable<KeyValuePair<string, object?>> dict:
                EmptyDict();
                Mark();
                foreach (var (k, v) in dict)
                {
                    String(k);
                    Value(v);
                }
                SetItems();
                break;
            default:
                throw new ArgumentException($"cannot pickle a value of type {value.GetType().Name}.", nameof(value));
        }
    }

    private void Memoized(string key, Action write)
    {
        if (_memo.TryGetValue(key, out int index))
        {
            if (index <= byte.MaxValue)
            {
                _out.Write([(byte)'h', (byte)index]);
            }
            else
            {
                _out.WriteByte((byte)'j');
                Span<byte> b = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(b, index);
                _out.Write(b);
            }
            return;
        }
        write();
        index = _memo.Count;
        _memo[key] = index;
        if (index <= byte.MaxValue)
        {
            _out.Write([(byte)'q', (byte)index]);
        }
        else
        {
            _out.WriteByte((byte)'r');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, index);
            _out.Write(b);
        }
    }
}
