using System.Buffers.Binary;
using System.Text;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>
/// Walks one pickle opcode by opcode before anything is unpickled, the way pickletools does, and
/// refuses what a tensor checkpoint does not need. Razorvine.Pickle has no per-unpickler hook for
/// global lookups (unknown globals silently become ClassDicts) and allocates the length an opcode
/// announces before reading it, so this pass is what makes untrusted input safe:
/// <list type="bullet">
/// <item>every GLOBAL / STACK_GLOBAL must be on the allow-list, checked on a symbolic stack so
/// that STACK_GLOBAL's operands are known strings;</item>
/// <item>REDUCE / NEWOBJ may only call allowed callables, BUILD may only target their results
/// that take state (OrderedDict, numpy.dtype);</item>
/// <item>opcodes that torch checkpoints never use (text protocol 0, INST/OBJ, extensions,
/// out-of-band buffers) are refused;</item>
/// <item>every length is checked against the bytes left in the stream before it is read.</item>
/// </list>
/// The bytes of the pickle (through STOP) are returned for Razorvine to unpickle, which also gives
/// exact byte accounting for the legacy container's consecutive pickles.
/// </summary>
internal static class PickleValidator
{
    /// <summary>Callables that REDUCE/NEWOBJ may apply; each has a constructor in <see cref="SafeUnpickler"/>.</summary>
    internal static readonly HashSet<string> Callables =
    [
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "collections.OrderedDict",
        "torch.device",
        "torch.Size",
        "_codecs.encode",
        "numpy.core.multiarray.scalar",
        "numpy.dtype",
    ];

    /// <summary>Results of these callables may receive BUILD (state) afterwards.</summary>
    private static readonly HashSet<string> Buildable = ["collections.OrderedDict", "numpy.dtype"];

    /// <summary>Classes that may only appear as values (the storage type in a persistent id).</summary>
    internal static readonly Dictionary<string, DType> StorageTypes = CreateStorageTypes();

    private static Dictionary<string, DType> CreateStorageTypes()
    {
        var map = new Dictionary<string, DType>();
        foreach (var d in DTypes.All)
        {
            map["torch." + d.TorchStorageName()] = d;
            // Legacy files saved from a GPU name the CUDA storage classes.
            map["torch.cuda." + d.TorchStorageName()] = d;
        }
        map["torch.UntypedStorage"] = DType.UInt8;
        map["torch.storage.UntypedStorage"] = DType.UInt8;
        return map;
    }

    internal static bool IsAllowedGlobal(string key) => Callables.Contains(key) || StorageTypes.ContainsKey(key);






    private enum Kind { Marker, Str, Global, Instance, Other }

    private sealed record Sym(Kind Kind, string? Text = null)
    {
        public static readonly Sym Mark = new(Kind.Marker);
        public static readonly Sym Value = new(Kind.Other);
    }

    /// <summary>
    /// Reads and checks one pickle starting at the stream's position; leaves the stream just after STOP.
    /// <paramref name="stringOffsets"/> receives the offset of each string's first occurrence, which
    /// gives dict keys their order in the file (Razorvine returns plain dicts as Hashtables).
    /// </summary>
    public static byte[] ReadOne(Stream stream, string path, string what, Dictionary<string, long>? stringOffsets = null)
    {
        long start = stream.Position;
        long end = stream.Length;
        var copy = new MemoryStream();
        var stack = new List<Sym>();
        var memo = new Dictionary<long, Sym>();
        var lineBuffer = new List<byte>();

        void Truncated(long need) => throw For(path,
            $"the file is truncated: {what} needs {N(need)} bytes at offset {N(stream.Position)} but only {N(end - stream.Position)} remain");

        byte[] Take(long count)
        {
            if (count < 0 || count > end - stream.Position)
            {
                Truncated(count);
            }

            var bytes = new byte[count];
            stream.ReadExactly(bytes);
            copy.Write(bytes);
            return bytes;
        }

        byte Byte1() => Take(1)[0];

        string Line()
        {
            lineBuffer.Clear();
            while (true)
            {
                byte b = Byte1();
                if (b == (byte)'\n')
                {
                    return Encoding.UTF8.GetString(lineBuffer.ToArray());
                }
                // Module and attribute names are short; a long "line" is not a checkpoint.
                if (lineBuffer.Count >= 256)
                {
                    throw For(path, $"{what} has a global name longer than 256 bytes at offset {N(stream.Position)}");
                }

                lineBuffer.Add(b);
            }
        }

        Sym Pop(long at)
        {
            if (stack.Count == 0 || stack[^1].Kind == Kind.Marker)
            {
                throw For(path, $"{what} is malformed: an opcode at offset {N(at)} pops from an empty stack");
            }

            var s = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return s;
        }

        void PopMark(long at)
        {
            int i = stack.FindLastIndex(s => s.Kind == Kind.Marker);
            if (i < 0)
            {
                throw For(path, $"{what} is malformed: an opcode at offset {N(at)} has no matching MARK");
            }

            stack.RemoveRange(i, stack.Count - i);
        }

        void PushString(string s, long at)
        {
            if (stringOffsets is not null)
            {
                stringOffsets.TryAdd(s, at - start);
            }

            stack.Add(new Sym(Kind.Str, s));
        }

        void CheckGlobal(string module, string name, long at)
        {
            string key = module + "." + name;
            if (!IsAllowedGlobal(key))
            {
                throw For(path, $"refused to unpickle global '{key}': only the globals that tensors and state dicts need are allowed");
            }

            stack.Add(new Sym(Kind.Global, key));
        }

        void Call(long at)
        {
            Pop(at); // the argument tuple
            var callable = Pop(at);
            if (callable.Kind != Kind.Global || !Callables.Contains(callable.Text!))
            {
                throw For(path, $"refused to unpickle: {what} calls {Describe(callable)} at offset {N(at)}, which is not an allowed callable");
            }

            stack.Add(new Sym(Kind.Instance, callable.Text));
        }

        long ops = 0;
        while (true)
        {
            long at = stream.Position;
            byte op = Byte1();

            // Bounded work whatever the pickle: a state dict of thousands of tensors takes tens of thousands of opcodes,
            // while a few KB deflated can hold millions (each MEMOIZE a memo entry, each SETITEM a dict entry).
            if (++ops > Limits.MaxPickleOpcodes || memo.Count > Limits.MaxPickleMemo || stack.Count > Limits.MaxPickleStack)
            {
                throw For(path, $"{what} is far larger than a tensor checkpoint's ({N(ops)} opcodes, {N(memo.Count)} memo entries, {N(stack.Count)} values on the stack by offset {N(at)})");
            }

            switch (op)
            {
                case 0x80: // PROTO
                    int proto = Byte1();
                    if (proto > 5)
                    {
                        throw For(path, $"{what} uses pickle protocol {proto}, which does not exist");
                    }

                    break;
                case 0x95: // FRAME: only a length hint
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    Pop(at);
                    return copy.ToArray();
                case (byte)'(':
                    stack.Add(Sym.Mark);
                    break;
                case (byte)'0':
                    Pop(at);
                    break;
                case (byte)'1':
                    PopMark(at);
                    break;
                case (byte)'2':
                    { var top = Pop(at); stack.Add(top); stack.Add(top); }
                    break;
                case (byte)'J':
                    Take(4);
                    stack.Add(Sym.Value);
                    break; // BININT
                case (byte)'K':
                    Take(1);
                    stack.Add(Sym.Value);
                    break; // BININT1
                case (byte)'M':
                    Take(2);
                    stack.Add(Sym.Value);
                    break; // BININT2
                case 0x8a:
                    Take(Byte1());
                    stack.Add(Sym.Value);
                    break; // LONG1
                case (byte)'N':
                case 0x88:
                case 0x89:
                    stack.Add(Sym.Value);
                    break; // None, True, False
                case (byte)'G':
                    Take(8);
                    stack.Add(Sym.Value);
                    break; // BINFLOAT
                case (byte)'U': // SHORT_BINSTRING (Python 2 str)
                    PushString(Latin1(Take(Byte1())), at);
                    break;
                case (byte)'T': // BINSTRING
                    PushString(Latin1(Take(ReadLength(Take(4), path, what, at))), at);
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    PushString(Encoding.UTF8.GetString(Take(Byte1())), at);
                    break;
                case (byte)'X': // BINUNICODE
                    PushString(Encoding.UTF8.GetString(Take(ReadLength(Take(4), path, what, at))), at);
                    break;
                case 0x8d: // BINUNICODE8
                    PushString(Encoding.UTF8.GetString(Take(ReadLength(Take(8), path, what, at))), at);
                    break;
                case (byte)'C':
                    Take(Byte1());
                    stack.Add(Sym.Value);
                    break; // SHORT_BINBYTES
                case (byte)'B':
                    Take(ReadLength(Take(4), path, what, at));
                    stack.Add(Sym.Value);
                    break; // BINBYTES
                case 0x8e:
                    Take(ReadLength(Take(8), path, what, at));
                    stack.Add(Sym.Value);
                    break; // BINBYTES8
                case (byte)')':
                case (byte)']':
                case (byte)'}':
                case 0x8f:
                    stack.Add(Sym.Value);
                    break; // empty tuple/list/dict/set
                case (byte)'t':
                case (byte)'l':
                case (byte)'d':
                case 0x91:
                    PopMark(at);
                    stack.Add(Sym.Value);
                    break; // TUPLE LIST DICT FROZENSET
                case 0x85:
                    Pop(at);
                    stack.Add(Sym.Value);
                    break; // TUPLE1
                case 0x86:
                    Pop(at);
                    Pop(at);
                    stack.Add(Sym.Value);
                    break; // TUPLE2
                case 0x87:
                    Pop(at);
                    Pop(at);
                    Pop(at);
                    stack.Add(Sym.Value);
                    break; // TUPLE3
                case (byte)'a':
                    Pop(at);
                    RequireTarget(at);
                    break; // APPEND
                case (byte)'s':
                    Pop(at);
                    Pop(at);
                    RequireTarget(at);
                    break; // SETITEM
                case (byte)'e':
                case (byte)'u':
                case 0x90:
                    PopMark(at);
                    RequireTarget(at);
                    break; // APPENDS SETITEMS ADDITEMS
                case (byte)'c': // GLOBAL
                    {
                        string module = Line();
                        string name = Line();
                        CheckGlobal(module, name, at);
                    }
                    break;
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop(at);
                        var module = Pop(at);
                        if (module.Kind != Kind.Str || name.Kind != Kind.Str)
                        {
                            throw For(path, $"refused to unpickle: STACK_GLOBAL at offset {N(at)} names a global that is not a plain string");
                        }

                        CheckGlobal(module.Text!, name.Text!, at);
                    }
                    break;
                case (byte)'R':
                case 0x81: // REDUCE, NEWOBJ
                    Call(at);
                    break;
                case (byte)'b': // BUILD
                    {
                        Pop(at);
                        var target = Pop(at);
                        if (target.Kind != Kind.Instance || !Buildable.Contains(target.Text!))
                        {
                            throw For(path, $"refused to unpickle: {what} sets the state of {Describe(target)} at offset {N(at)}, which is not allowed");
                        }

                        stack.Add(target);
                    }
                    break;
                case (byte)'Q': // BINPERSID: the storage reference of a tensor
                    Pop(at);
                    stack.Add(Sym.Value);
                    break;
                case (byte)'h':
                    Push(memo, Take(1)[0], at);
                    break; // BINGET
                case (byte)'j':
                    Push(memo, BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at);
                    break; // LONG_BINGET
                case (byte)'q':
                    memo[Take(1)[0]] = Top(at);
                    break; // BINPUT
                case (byte)'r':
                    memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top(at);
                    break; // LONG_BINPUT
                case 0x94:
                    memo[memo.Count] = Top(at);
                    break; // MEMOIZE
                default:
                    throw For(path, $"refused to unpickle: {what} uses pickle opcode {OpcodeName(op)} at offset {N(at)}, which tensor checkpoints do not need");
            }
        }

        Sym Top(long at)
        {
            if (stack.Count == 0 || stack[^1].Kind == Kind.Marker)
            {
                throw For(path, $"{what} is malformed: a memo store at offset {N(at)} has nothing to store");
            }

            return stack[^1];
        }

        void Push(Dictionary<long, Sym> m, long index, long at)
        {
            if (!m.TryGetValue(index, out var s))
            {
                throw For(path, $"{what} is malformed: memo entry {N(index)} is read at offset {N(at)} before it is stored");
            }

            stack.Add(s);
        }

        void RequireTarget(long at)
        {
            // The list/dict/set being filled must still be on the stack.
            if (stack.Count == 0 || stack[^1].Kind == Kind.Marker)
            {
                throw For(path, $"{what} is malformed: an opcode at offset {N(at)} fills a container that is not there");
            }
        }
    }

    private static long ReadLength(byte[] bytes, string path, string what, long at)
    {
        long n = bytes.Length == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes);
        // Razorvine keeps byte strings in arrays; anything this long is not a checkpoint pickle.
        if (n < 0 || n > int.MaxValue)
        {
            throw For(path, $"{what} has a string of {N(n)} bytes at offset {N(at)}, which is more than a checkpoint pickle can hold");
        }

        return n;
    }

    private static string Latin1(byte[] b) => Encoding.Latin1.GetString(b);

    private static string Describe(Sym s) => s.Kind switch
    {
        Kind.Global => $"'{s.Text}'",
        Kind.Instance => $"the result of '{s.Text}'",
        Kind.Str => "a string",
        _ => "a value that is not an allowed global",
    };

    private static string OpcodeName(byte op) => op switch
    {
        (byte)'I' => "INT",
        (byte)'L' => "LONG",
        (byte)'F' => "FLOAT",
        (byte)'S' => "STRING",
        (byte)'V' => "UNICODE",
        (byte)'g' => "GET",
        (byte)'p' => "PUT",
        (byte)'i' => "INST",
        (byte)'o' => "OBJ",
        (byte)'P' => "PERSID",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8b => "LONG4",
        0x92 => "NEWOBJ_EX",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => $"0x{op:X2}",
    };
}
