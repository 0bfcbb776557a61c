using System.Runtime.InteropServices;
using TorchSharp;

namespace Res2Net;

/// <summary>Process-wide LibTorch settings, applied once before the first model runs.</summary>
public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool initialized;

    /// <summary>
    /// Loads LibTorch, tunes glibc's allocator for it (<see cref="TuneAllocator"/>) and turns NNPACK off (defect 6 of
    /// <see cref="LibTorch.LibTorchDefects"/>).
    /// </summary>
    public static void Initialize()
    {
        lock (Gate)
        {
            if (initialized)
            {
                return;
            }

            if (TuneAllocator)
            {
                AllocatorTuned = NativeMemory.KeepFreedBuffers();
            }

            torch.InitializeDeviceType(DeviceType.CPU);
            DisableNnpack();

            initialized = true;
        }
    }

    /// <summary>
    /// Whether <see cref="Initialize"/> tunes glibc's allocator for LibTorch (default true; set false before the first
    /// model runs to keep the process's own settings). With glibc's defaults LibTorch's freed feature maps go back to
    /// the kernel (unmapped, or a worker thread's heap trimmed) and the next forward pass page-faults the same memory in
    /// again: measured here, a third of a batch-8 res2net50 pass was kernel time (1.2 million page faults in 18 passes),
    /// and the engine at batch 8 ran 12.4-20.9 images/s untuned against 23.4-23.9 tuned, in the same run. The settings
    /// and their reasons: <see cref="NativeMemory.KeepFreedBuffers"/>.
    /// </summary>
    public static bool TuneAllocator { get; set; } = true;

    /// <summary>Whether the allocator settings of <see cref="TuneAllocator"/> were applied (glibc only).</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>Whether LibTorch will still try NNPACK (false after <see cref="Initialize"/> when the switch was found).</summary>
    public static bool NnpackEnabled
    {
        get
        {
            Initialize();
            return TryGetContext(out var lib, out var context)
                && NativeLibrary.TryGetExport(lib, "_ZNK2at7Context17userEnabledNNPACKEv", out var getter)
                && GetFlag(getter, context);
        }
    }

    /// <summary>Turns LibTorch's oneDNN kernels on or off (tests compare against its reference kernels).</summary>
    internal static void SetMkldnn(bool enabled)
    {
        Initialize();
        if (TryGetContext(out var lib, out var context)
            && NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledMkldnnEb", out var setter))
        {
            SetFlag(setter, context, enabled);
        }
    }

    private static void DisableNnpack()
    {
        if (TryGetContext(out var lib, out var context)
            && NativeLibrary.TryGetExport(lib, LibTorch.LibTorchDefects.NnpackSetter, out var setter))
        {
            SetFlag(setter, context, false);
        }
    }

    private static bool TryGetContext(out IntPtr lib, out IntPtr context)
    {
        context = IntPtr.Zero;
        var dir = AppContext.BaseDirectory;
        if (!NativeLibrary.TryLoad(Path.Combine(dir, "libtorch_cpu.so"), out lib)
            && !NativeLibrary.TryLoad(Path.Combine(dir, "runtimes", "linux-x64", "native", "libtorch_cpu.so"), out lib)
            && !NativeLibrary.TryLoad("libtorch_cpu.so", out lib))
        {
            return false;
        }

        if (!NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out var globalContext))
        {
            return false;
        }

        context = GetContext(globalContext);
        return context != IntPtr.Zero;
    }

    // at::globalContext() and the Context member functions (the object is passed first, Itanium C++ ABI).
    private static unsafe IntPtr GetContext(IntPtr fn) => ((delegate* unmanaged<IntPtr>)fn)();

    private static unsafe void SetFlag(IntPtr fn, IntPtr context, bool value) =>
        ((delegate* unmanaged<IntPtr, byte, void>)fn)(context, value ? (byte)1 : (byte)0);

    private static unsafe bool GetFlag(IntPtr fn, IntPtr context) => ((delegate* unmanaged<IntPtr, byte>)fn)(context) != 0;
}
