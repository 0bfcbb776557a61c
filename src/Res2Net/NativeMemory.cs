using System.Runtime.InteropServices;

namespace Res2Net;

/// <summary>
/// glibc's allocator, tuned for LibTorch: training steps and batched forward passes allocate and free feature maps of
/// tens of megabytes each time. By default glibc serves those with mmap and returns them with munmap (or trims the
/// worker threads' heaps), so every step or pass pays page faults on fresh memory: a third of the time as system time
/// on this machine, for training and inference alike. See <see cref="TorchRuntime.TuneAllocator"/>.
/// </summary>
internal static partial class NativeMemory
{
    // mallopt parameters (malloc.h).
    private const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3, ArenaMax = -8;

    /// <summary>
    /// Keeps freed buffers in the heap: blocks up to 32 MiB (glibc's largest mmap threshold on 64-bit) come from the
    /// heap, up to 256 MiB of free heap is kept (1 GiB let a long classify run reach 1.6 GB of RSS, fragmentation
    /// included; 256 MiB held it near 1.1 GB at the same speed), the heap grows 64 MiB at a time, and all threads share one arena
    /// (LibTorch's worker threads otherwise get arenas whose heaps are unmapped whenever they empty, whatever the trim
    /// threshold). False where this is not glibc (e.g. musl): the defaults stay, LibTorch only runs slower.
    /// </summary>
    public static bool KeepFreedBuffers()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return (mallopt(MmapThreshold, 32 << 20) & mallopt(TrimThreshold, 256 << 20) & mallopt(TopPad, 64 << 20)
                & mallopt(ArenaMax, 1)) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Hands freed native memory back (<see cref="ReturnFreedMemory"/>) once the process's resident memory exceeds
    /// <paramref name="bytes"/>; true if it did. Keeping freed buffers (<see cref="KeepFreedBuffers"/>) lets holes
    /// between live blocks pile up: a loop of batch-16 forward passes reached 1.68 GB of RSS, 377 MB after a trim. One
    /// read of /proc/self/statm per call; the trim itself costs the page faults the tuning avoids, so it stays rare.
    /// </summary>
    public static bool TrimIfResidentAbove(long bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            // statm: size resident shared ... in pages.
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            if (long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize <= bytes)
            {
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return false;
        }

        ReturnFreedMemory();
        return true;
    }

    /// <summary>Hands freed native memory (LibTorch's) back to the system with glibc's malloc_trim, where there is glibc.</summary>
    public static void ReturnFreedMemory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = malloc_trim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): the memory stays with the process.
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
