using System.Collections;
using System.Numerics;
using Razorvine.Pickle;
using static Res2Net.Weights.CheckpointFormatException;

namespace Res2Net.Weights;

/// <summary>
/// A storage that a checkpoint's pickle refers to by persistent id. Views (legacy files) share the
/// root's bytes from an element offset on.
/// </summary>
internal sealed class StorageRef(string key, DType dtype, long numel, StorageRef? root = null, long elementOffset = 0)
{
    public string Key { get; } = key;
    public DType DType { get; } = dtype;
    public long Numel { get; } = numel;
    public StorageRef? Root { get; } = root;
    public long ElementOffset { get; } = elementOffset;

    /// <summary>The bytes of a root storage, once read (legacy: after the pickles; zip: on first use).</summary>
    public byte[]? Data { get; set; }

    /// <summary>Reads a root storage's bytes on first use, given the name of the tensor that needs them.</summary>
    public Func<StorageRef, string, byte[]>? Loader { get; init; }

    /// <summary>The first tensor found using this storage, for error messages.</summary>
    public string? FirstTensorName { get; set; }

    public StorageRef RootStorage => Root ?? this;
}

/// <summary>A tensor as pickled: a window of a storage given by offset, shape and strides (in elements).</summary>
internal sealed class TensorRef(StorageRef storage, long offset, long[] shape, long[] stride)
{
    public StorageRef Storage { get; } = storage;
    public long Offset { get; } = offset;
    public long[] Shape { get; } = shape;
    public long[] Stride { get; } = stride;
}

/// <summary>collections.OrderedDict; a Hashtable because Razorvine's SETITEM(S) fill Hashtables.</summary>
internal sealed class PickledOrderedDict : Hashtable
{
    /// <summary>BUILD on a state dict sets its <c>_metadata</c>; it is not needed here.</summary>
    public void __setstate__(object state) => State = state;

    public object? State { get; private set; }
}

/// <summary>torch.device, kept as its text (e.g. "cuda:0").</summary>
internal sealed record PickledDevice(string Text)
{
    public override string ToString() => Text;
}

/// <summary>numpy.dtype as pickled for a numpy scalar (e.g. timm's best metric).</summary>
internal sealed class NumpyDType(string kind)
{
    public string Kind { get; } = kind;
    public char ByteOrder { get; private set; } = '<';

    public void __setstate__(object state)
    {
        // state = (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if (state is object[] { Length: > 1 } t && t[1] is string { Length: 1 } order)
        {
            ByteOrder = order[0];
        }
    }
}

/// <summary>
/// Razorvine's Unpickler with torch's persistent ids. Only run it on bytes that
/// <see cref="PickleValidator"/> has accepted: it restricts globals, opcodes and lengths, which
/// Razorvine itself cannot.
/// </summary>
internal sealed class SafeUnpickler : Unpickler
{
    private readonly Func<object[], object> _persistentLoad;

    static SafeUnpickler()
    {
        // Razorvine only has a process-wide registry of constructors; registering the allowed names
        // once is harmless because the validator refuses every other global before Razorvine runs.
        registerConstructor("torch._utils", "_rebuild_tensor_v2", new Ctor(RebuildTensor));
        registerConstructor("torch._utils", "_rebuild_tensor", new Ctor(RebuildTensor));
        registerConstructor("torch._utils", "_rebuild_parameter", new Ctor(args => Arg(args, 0) ?? throw new PickleException("None where a value is needed")));
        registerConstructor("torch._utils", "_rebuild_parameter_with_state", new Ctor(args => Arg(args, 0) ?? throw new PickleException("None where a value is needed")));
        registerConstructor("collections", "OrderedDict", new Ctor(NewOrderedDict));
        registerConstructor("torch", "device", new Ctor(args => new PickledDevice(string.Join(":", args.Select(a => Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture))))));
        registerConstructor("torch", "Size", new Ctor(args => Arg(args, 0) ?? throw new PickleException("None where a value is needed")));
        registerConstructor("_codecs", "encode", new Ctor(Encode));
        registerConstructor("numpy", "dtype", new Ctor(args => new NumpyDType(Arg(args, 0) as string ?? "?")));
        registerConstructor("numpy.core.multiarray", "scalar", new Ctor(NumpyScalar));
        foreach (var (key, dtype) in PickleValidator.StorageTypes)
        {
            int dot = key.LastIndexOf('.');
            registerConstructor(key[..dot], key[(dot + 1)..], new StorageType(dtype));
        }
    }

    private SafeUnpickler(Func<object[], object> persistentLoad) => _persistentLoad = persistentLoad;

    /// <summary>Unpickles validated bytes; every failure becomes a <see cref="CheckpointFormatException"/>.</summary>
    public static object? Load(byte[] pickle, string path, string what, Func<object[], object>? persistentLoad = null)
    {
        var unpickler = new SafeUnpickler(persistentLoad ?? (_ => throw For(path, $"{what} refers to a storage, which it should not")));
        try
        {
            return unpickler.loads(pickle);
        }
        catch (Exception e) when (e is not CheckpointFormatException)
        {
            // Razorvine wraps exceptions from __setstate__; keep ours whole.
            for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            {
                if (inner is CheckpointFormatException cfe)
                {
                    throw cfe;
                }
            }

            throw For(path, $"{what} is not a valid pickle ({e.GetType().Name}: {e.Message.TrimEnd('.', '\n')})", e);
        }
        finally
        {
            unpickler.close();
        }
    }

    protected override object persistentLoad(object pid) =>
        pid is object[] tuple ? _persistentLoad(tuple) : throw new PickleException("a persistent id is not a tuple");

    public static long ToLong(object? value) => value switch
    {
        int i => i,
        long l => l,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        bool b => b ? 1 : 0,
        _ => throw new PickleException($"expected an integer, got {value?.GetType().Name ?? "None"}"),
    };

    private static object? Arg(object[] args, int i) =>
        i < args.Length ? args[i] : throw new PickleException($"expected at least {i + 1} arguments, got {args.Length}");

    private static long[] ToLongs(object? value, string what) => value switch
    {
        object[] t => t.Select(ToLong).ToArray(),
        ArrayList l => l.Cast<object?>().Select(ToLong).ToArray(),
        _ => throw new PickleException($"{what} is not a tuple"),
    };

    private static object RebuildTensor(object[] args)
    {
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        // and the older _rebuild_tensor(storage, storage_offset, size, stride).
        if (Arg(args, 0) is not StorageRef storage)
        {
            throw new PickleException("a tensor's storage is not a storage reference");
        }

        long offset = ToLong(Arg(args, 1));
        long[] shape = ToLongs(Arg(args, 2), "a tensor's size");
        long[] stride = ToLongs(Arg(args, 3), "a tensor's stride");
        if (shape.Length != stride.Length)
        {
            throw new PickleException($"a tensor has {shape.Length} sizes but {stride.Length} strides");
        }

        return new TensorRef(storage, offset, shape, stride);
    }

    private static object NewOrderedDict(object[] args)
    {
        var dict = new PickledOrderedDict();
        // OrderedDict(iterable of pairs), as some writers emit.
        if (args.Length > 0 && args[0] is IEnumerable items and not string)
        {
            foreach (var item in items)
            {
                if (item is object[] { Length: 2 } pair)
                {
                    dict[pair[0]] = pair[1];
                }
            }
        }

        return dict;
    }

    private static object Encode(object[] args)
    {
        // Python 2 and protocol-2 pickles write bytes as _codecs.encode(text, 'latin1').
        string text = Arg(args, 0) as string ?? throw new PickleException("_codecs.encode expects a string");
        string encoding = args.Length > 1 ? args[1] as string ?? "utf-8" : "utf-8";
        return encoding.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() is "latin1" or "iso88591"
            ? System.Text.Encoding.Latin1.GetBytes(text)
            : System.Text.Encoding.UTF8.GetBytes(text);
    }

    private static object NumpyScalar(object[] args)
    {
        // numpy.core.multiarray.scalar(dtype, raw bytes): decode the common numeric kinds.
        if (Arg(args, 0) is not NumpyDType dtype)
        {
            throw new PickleException("numpy scalar without a dtype");
        }

        byte[] raw = Arg(args, 1) switch
        {
            byte[] b => b,
            string s => System.Text.Encoding.Latin1.GetBytes(s),
            _ => throw new PickleException("numpy scalar without data"),
        };
        if (dtype.ByteOrder == '>')
        {
            Array.Reverse(raw);
        }

        return (dtype.Kind, raw.Length) switch
        {
            ("f8", 8) => BitConverter.ToDouble(raw),
            ("f4", 4) => (double)BitConverter.ToSingle(raw),
            ("i8", 8) => BitConverter.ToInt64(raw),
            ("i4", 4) => (long)BitConverter.ToInt32(raw),
            ("b1", 1) => raw[0] != 0,
            _ => raw,
        };
    }

    private sealed class Ctor(Func<object[], object> factory) : IObjectConstructor
    {
        public object construct(object[] args) => factory(args);
    }

    /// <summary>A torch storage class such as torch.FloatStorage; only ever a value in a persistent id.</summary>
    internal sealed class StorageType(DType dtype) : IObjectConstructor
    {
        public DType DType { get; } = dtype;

        public object construct(object[] args) => throw new PickleException("storage classes cannot be called");
    }
}
