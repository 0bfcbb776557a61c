using System.Runtime.InteropServices;
using TorchSharp;

namespace Res2Net;

/// <summary>Process-wide LibTorch settings, applied once before the first model runs.</summary>
public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool initialized;

    /// <summary>Loads LibTorch and turns NNPACK off (defect 6 of <see cref="LibTorch.LibTorchDefects"/>).</summary>
    public static void Initialize()
    {
        lock (Gate)
        {
            if (initialized)
            {
                return;
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

    /// <summary>
    /// Tunes glibc's allocator for LibTorch (<see cref="TuneAllocator"/>) once, where LibTorch is about to run pass
    /// after pass: the torch engine and training. Not on merely loading LibTorch: the settings are the whole process's,
    /// and a process that only builds a model to export it, then runs ONNX Runtime, would keep a quarter of a gigabyte
    /// of ONNX Runtime's freed memory on its heap (measured: 1.16 GB against 0.82 GB for the same classify).
    /// </summary>
    internal static void TuneForRepeatedPasses()
    {
        Initialize();
        lock (Gate)
        {
            if (TuneAllocator && !AllocatorTuned)
            {
                AllocatorTuned = NativeMemory.KeepFreedBuffers();
            }
        }
    }

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
