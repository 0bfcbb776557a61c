using System.Runtime.InteropServices;

namespace Res2Net.Training;

/// <summary>
/// glibc tuning for training loops: LibTorch allocates and frees activation buffers of tens of megabytes every step;
/// by default glibc serves those with mmap and returns them with munmap, so every step pays page faults on fresh
/// memory (a third of the run's time as system time on this machine). Keeping them on the heap reuses the pages.
/// </summary>
internal static partial class NativeMemory
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;
    private static bool done;

    public static void KeepFreedBuffers()
    {
        if (done || !OperatingSystem.IsLinux())
        {
            return;
        }

        done = true;
        try
        {
            // 32 MiB is glibc's largest mmap threshold on 64-bit; trimming only above 1 GiB of free heap.
            _ = mallopt(MallocMmapThreshold, 32 * 1024 * 1024);
            _ = mallopt(MallocTrimThreshold, 1024 * 1024 * 1024);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): the defaults stay, training only runs slower.
        }
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
