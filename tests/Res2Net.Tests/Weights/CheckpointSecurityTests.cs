using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

/// <summary>Hostile pickles, built opcode by opcode, must be refused before anything is constructed.</summary>
public class CheckpointSecurityTests
{
    public static TheoryData<string, string> DangerousGlobals => new()
    {
        { "os", "system" },
        { "posix", "system" },
        { "builtins", "eval" },
        { "builtins", "exec" },
        { "__builtin__", "eval" },
        { "subprocess", "Popen" },
        { "builtins", "getattr" },
        { "torch", "load" },
        { "numpy", "load" },
    };

    [Theory]
    [MemberData(nameof(DangerousGlobals))]
    public void Zip_checkpoint_calling_a_dangerous_global_is_refused(string module, string name)
    {
        // What torch.save writes for an object whose __reduce__ returns (os.system, ('...',)).
        byte[] pkl = new PickleBytes().Proto().EmptyDict()
            .Str("x").FloatTensor("0", 1, [1], [1], legacy: false).SetItem()
            .Str("evil").Global(module, name).Str("touch /tmp/res2net-pwned").Tuple1().Reduce().SetItem()
            .Stop().ToArray();
        using var dir = new TempDir();
        string path = dir.File("evil.pth");
        PickleBytes.WriteZip(path, pkl, ("0", new byte[4]));

        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.Equal($"evil.pth: refused to unpickle global '{module}.{name}': only the globals that tensors and state dicts need are allowed.", e.Message);
        Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.Read(path));
    }

    [Fact]
    public void Legacy_checkpoint_calling_os_system_is_refused()
    {
        var p = new PickleBytes().Raw(PickleBytes.LegacyPreamble());
        p.Proto().EmptyDict().Str("evil").Global("os", "system").Str("echo pwned").Tuple1().Reduce().SetItem().Stop();
        using var dir = new TempDir();
        string path = dir.File("evil.legacy.pth");
        File.WriteAllBytes(path, p.ToArray());
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Equal("evil.legacy.pth: refused to unpickle global 'os.system': only the globals that tensors and state dicts need are allowed.", e.Message);
    }

    [Fact]
    public void Stack_global_is_checked_too()
    {
        // Protocol 4 names globals with STACK_GLOBAL from two strings on the stack, here memoized and fetched again.
        byte[] pkl = new PickleBytes().Proto(4)
            .ShortStr("builtins").Raw(0x94).ShortStr("eval").Raw(0x94)
            .Raw((byte)'h', 0, (byte)'h', 1).Raw(0x93)
            .ShortStr("1+1").Tuple1().Reduce().Stop().ToArray();
        using var dir = new TempDir();
        string path = dir.File("stack.pth");
        PickleBytes.WriteZip(path, pkl);
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.Equal("stack.pth: refused to unpickle global 'builtins.eval': only the globals that tensors and state dicts need are allowed.", e.Message);
    }

    [Fact]
    public void Stack_global_from_non_strings_is_refused()
    {
        byte[] pkl = new PickleBytes().Proto(4).EmptyDict().EmptyDict().Raw(0x93).Stop().ToArray();
        using var dir = new TempDir();
        string path = dir.File("stack2.pth");
        PickleBytes.WriteZip(path, pkl);
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.StartsWith("stack2.pth: refused to unpickle: STACK_GLOBAL", e.Message);
    }

    public static TheoryData<string, byte[]> HostileOpcodes => new()
    {
        // REDUCE on something that is not an allowed callable.
        { "REDUCE", new PickleBytes().Proto().EmptyDict().EmptyTuple().Reduce().Stop().ToArray() },
        // REDUCE on a storage class, which is allowed only as a value.
        { "REDUCE", new PickleBytes().Proto().Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop().ToArray() },
        // BUILD on a plain dict or on a tensor.
        { "BUILD", new PickleBytes().Proto().EmptyDict().EmptyDict().Build().Stop().ToArray() },
        { "BUILD", new PickleBytes().Proto().FloatTensor("0", 1, [1], [1], false).EmptyDict().Build().Stop().ToArray() },
        // INST calls module.name(*args) by text; OBJ calls the class on the stack.
        { "INST", new PickleBytes().Proto().Mark().Str("id").Raw((byte)'i').Raw("os\nsystem\n"u8.ToArray()).Stop().ToArray() },
        { "OBJ", new PickleBytes().Proto().Mark().Global("collections", "OrderedDict").Raw((byte)'o').Stop().ToArray() },
        // Extension registry and text-protocol opcodes are never needed.
        { "EXT1", new PickleBytes().Proto().Raw(0x82, 1).Stop().ToArray() },
        { "STRING", new PickleBytes().Raw((byte)'S').Raw("'x'\n"u8.ToArray()).Stop().ToArray() },
        { "PERSID", new PickleBytes().Raw((byte)'P').Raw("0\n"u8.ToArray()).Stop().ToArray() },
    };

    [Theory]
    [MemberData(nameof(HostileOpcodes))]
    public void Opcodes_that_checkpoints_do_not_need_are_refused(string opcode, byte[] pkl)
    {
        using var dir = new TempDir();
        string path = dir.File("op.pth");
        PickleBytes.WriteZip(path, pkl);
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.StartsWith("op.pth: refused to unpickle", e.Message);
        Assert.True(e.Message.Contains(opcode) || e.Message.Contains("allowed"), e.Message);
    }

    [Fact]
    public void String_length_beyond_the_stream_is_an_error_not_an_allocation()
    {
        // BINUNICODE claiming 2 GB; BINBYTES8 claiming 2^40 bytes.
        byte[] unicode = new PickleBytes().Proto().Raw((byte)'X', 0xFF, 0xFF, 0xFF, 0x7F).Raw("abc"u8.ToArray()).ToArray();
        byte[] bytes8 = new PickleBytes().Proto(4).Raw(0x8e, 0, 0, 0, 0, 0, 1, 0, 0).Raw("abc"u8.ToArray()).ToArray();
        using var dir = new TempDir();
        string a = dir.File("a.pth"), b = dir.File("b.pth");
        PickleBytes.WriteZip(a, unicode);
        PickleBytes.WriteZip(b, bytes8);
        var ea = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(a));
        Assert.Equal("a.pth: the file is truncated: data.pkl needs 2,147,483,647 bytes at offset 7 but only 3 remain.", ea.Message);
        var eb = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(b));
        Assert.Equal("b.pth: data.pkl has a string of 1,099,511,627,776 bytes at offset 2, which is more than a checkpoint pickle can hold.", eb.Message);
    }

    [Fact]
    public void Legacy_storage_with_a_huge_element_count_is_an_error_not_an_allocation()
    {
        using var dir = new TempDir();
        string path = dir.File("huge.legacy.pth");
        byte[] file = PyTorchCheckpointTests.LegacyFile(numelInData: 1_000_000_000_000_000, data: [1f, 2f, 3f, 4f]);
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.Equal($"huge.legacy.pth: the file is truncated: tensor 'w' needs 4,000,000,000,000,000 bytes at offset {file.Length - 16:N0} but the file ends at {file.Length:N0}.", e.Message);
    }

    [Fact]
    public void Tensor_reaching_past_its_storage_is_refused()
    {
        // A (2, 2) tensor on a zip storage of 4 elements whose entry holds only 8 bytes.
        byte[] pkl = new PickleBytes().Proto().EmptyDict().Str("w").FloatTensor("0", 4, [2, 2], [2, 1], false).SetItem().Stop().ToArray();
        using var dir = new TempDir();
        string path = dir.File("short.pth");
        PickleBytes.WriteZip(path, pkl, ("0", new byte[8]));
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.Equal("short.pth: the file is truncated: tensor 'w' needs 16 bytes but its entry 'archive/data/0' holds 8.", e.Message);

        // Strides that step outside the storage.
        byte[] pkl2 = new PickleBytes().Proto().EmptyDict().Str("w").FloatTensor("0", 4, [2, 2], [4, 1], false).SetItem().Stop().ToArray();
        string path2 = dir.File("stride.pth");
        PickleBytes.WriteZip(path2, pkl2, ("0", new byte[16]));
        var e2 = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path2));
        Assert.Equal("stride.pth: the file is truncated or damaged: tensor 'w' of shape [2, 2] needs element 5 of its storage but the storage holds 4.", e2.Message);
    }

    [Fact]
    public void Deeply_nested_lists_are_refused_without_overflowing_the_stack()
    {
        var p = new PickleBytes().Proto();
        for (int i = 0; i < 100_000; i++)
        {
            p.EmptyList();
        }

        for (int i = 0; i < 99_999; i++)
        {
            p.Append();
        }

        byte[] pkl = p.Stop().ToArray();
        using var dir = new TempDir();
        string path = dir.File("deep.pth");
        PickleBytes.WriteZip(path, pkl);
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.Read(path));
        Assert.StartsWith("deep.pth: the checkpoint nests containers more than", e.Message);
    }

    [Fact]
    public void Deeply_nested_dicts_under_state_dict_are_refused_without_overflowing_the_stack()
    {
        var p = new PickleBytes().Proto().EmptyDict().Str("state_dict");
        for (int i = 0; i < 100_000; i++)
        {
            p.EmptyDict().Str("a");
        }

        p.FloatTensor("0", 1, [1], [1], false);
        for (int i = 0; i < 100_000; i++)
        {
            p.SetItem();
        }

        byte[] pkl = p.SetItem().Stop().ToArray();
        using var dir = new TempDir();
        string path = dir.File("deepdict.pth");
        PickleBytes.WriteZip(path, pkl, ("0", new byte[4]));
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict(path));
        Assert.StartsWith("deepdict.pth: no state dict found", e.Message);
    }
}
