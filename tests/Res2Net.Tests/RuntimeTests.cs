using System.Text;
using Xunit;
using static TorchSharp.torch;

namespace Res2Net.Tests;

/// <summary>TorchSharp's native library loads on this machine (Debian 12 lacks GLIBCXX_3.4.32) and computes.</summary>
public class RuntimeTests
{
    [Fact]
    public void LibTorch_loads_and_computes()
    {
        TorchRuntime.Initialize();
        using var x = arange(1, 5, dtype: ScalarType.Float32);
        Assert.Equal(10f, x.sum().item<float>());
        Assert.False(TorchRuntime.NnpackEnabled);
    }

    [Fact]
    public void Glibc_accepts_the_allocator_settings()
    {
        // Which settings, and why: TorchRuntime.TuneAllocator. Their effect on speed is measured by bench/, not here.
        TorchRuntime.TuneForRepeatedPasses();
        Assert.True(TorchRuntime.AllocatorTuned);
    }

    [Fact]
    public void Freed_memory_goes_back_only_above_the_resident_budget()
    {
        TorchRuntime.Initialize();
        Assert.False(NativeMemory.TrimIfResidentAbove(long.MaxValue));
        Assert.True(NativeMemory.TrimIfResidentAbove(0));
    }

    [Fact]
    public void The_copied_native_library_asks_for_GLIBCXX_3_4_32_only_weakly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        var flags = VersionNeedFlags(File.ReadAllBytes(path), "GLIBCXX_3.4.32");
        Assert.NotNull(flags);
        Assert.Equal(2, flags & 2); // VER_FLG_WEAK
    }

    /// <summary>The vna_flags of the named version requirement in .gnu.version_r, or null if there is none.</summary>
    private static int? VersionNeedFlags(byte[] elf, string version)
    {
        var shoff = BitConverter.ToInt64(elf, 0x28);
        int size = BitConverter.ToUInt16(elf, 0x3A), count = BitConverter.ToUInt16(elf, 0x3C);
        for (var s = 0; s < count; s++)
        {
            var sh = (int)(shoff + (s * size));
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe)
            {
                continue;
            }

            var offset = BitConverter.ToInt64(elf, sh + 0x18);
            var strings = BitConverter.ToInt64(elf, (int)(shoff + (BitConverter.ToUInt32(elf, sh + 0x28) * size)) + 0x18);
            var vn = offset;
            for (var i = 0; i < BitConverter.ToUInt32(elf, sh + 0x2C); i++)
            {
                var vna = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (var j = 0; j < BitConverter.ToUInt16(elf, (int)vn + 2); j++)
                {
                    var name = (int)(strings + BitConverter.ToUInt32(elf, (int)vna + 8));
                    var end = Array.IndexOf(elf, (byte)0, name);
                    if (Encoding.ASCII.GetString(elf, name, end - name) == version)
                    {
                        return BitConverter.ToUInt16(elf, (int)vna + 4);
                    }

                    vna += BitConverter.ToUInt32(elf, (int)vna + 12);
                }

                vn += BitConverter.ToUInt32(elf, (int)vn + 12);
            }
        }

        return null;
    }
}
