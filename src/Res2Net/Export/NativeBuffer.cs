using System.Buffers;

namespace Res2Net.Export;

/// <summary>
/// Bytes in native memory that protobuf can hold without a copy (<c>UnsafeByteOperations.UnsafeWrap</c>): an export's
/// weights live here until the file is written and are then freed at once, instead of staying on the managed heap as
/// garbage the size of the model until a collection happens to come.
/// </summary>
internal sealed unsafe class NativeBuffer : MemoryManager<byte>
{
    private byte* pointer;
    private readonly int length;

    public NativeBuffer(ReadOnlySpan<byte> bytes)
    {
        length = bytes.Length;
        pointer = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(length, 1));
        bytes.CopyTo(new Span<byte>(pointer, length));
    }

    public override Span<byte> GetSpan() => pointer is null ? throw new ObjectDisposedException(nameof(NativeBuffer)) : new Span<byte>(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (pointer is not null)
        {
            System.Runtime.InteropServices.NativeMemory.Free(pointer);
            pointer = null;
        }
    }
}
