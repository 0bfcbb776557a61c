using Res2Net.Weights;
using Xunit;

namespace Res2Net.Tests.Weights;

public class CheckpointFileTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Legacy_files_of_every_pickle_protocol_torch_writes_are_read(int protocol)
    {
        var path = TestPaths.Data($"legacy_protocol{protocol}.pth");
        Assert.Equal(CheckpointContainer.PyTorchLegacy, CheckpointFile.Detect(path));
        var sd = CheckpointFile.ReadStateDict(path);
        Assert.Equal(["conv.weight", "bn.running_var", "bn.num_batches_tracked"], sd.Keys);
        Assert.Equal(new long[] { 2, 3, 2, 2 }, sd["conv.weight"].Shape);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => i / 7f), sd["conv.weight"].ToFloatArray());
        Assert.Equal([0.5f, 2.0f], sd["bn.running_var"].ToFloatArray());
        Assert.Equal(3L, BitConverter.ToInt64(sd["bn.num_batches_tracked"].Data));
    }

    [Fact]
    public void Empty_file()
    {
        using var dir = new TempDir();
        string path = dir.File("x.pth");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Equal("x.pth: the file is empty.", e.Message);
    }

    [Fact]
    public void Png_file()
    {
        using var dir = new TempDir();
        string path = dir.File("x.pth");
        File.WriteAllBytes(path, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Equal("x.pth: not a PyTorch checkpoint or safetensors file (starts with bytes 89 50 4E 47, a PNG image?).", e.Message);
    }

    [Fact]
    public void Html_file()
    {
        using var dir = new TempDir();
        string path = dir.File("x.pth");
        File.WriteAllText(path, "<!DOCTYPE html><html>Not Found</html>");
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Equal("x.pth: not a PyTorch checkpoint or safetensors file (starts with bytes 3C 21 44 4F, an HTML page, perhaps a failed download?).", e.Message);
    }

    [Fact]
    public void Dispatches_on_content_not_name()
    {
        var sd = PyTorchCheckpoint.ReadStateDict(TestPaths.Fixture("res2net_tiny_s1.pth"));
        using var dir = new TempDir();
        string legacyAsBin = dir.File("weights.bin");
        File.Copy(TestPaths.Fixture("res2net_tiny_s1.legacy.pth"), legacyAsBin);
        string safetensorsAsPth = dir.File("weights.pth");
        SafeTensors.Write(safetensorsAsPth, sd);
        Assert.Equal(CheckpointContainer.PyTorchLegacy, CheckpointFile.Detect(legacyAsBin));
        Assert.Equal(CheckpointContainer.SafeTensors, CheckpointFile.Detect(safetensorsAsPth));
        Assert.Equal(CheckpointContainer.PyTorchZip, CheckpointFile.Detect(TestPaths.Fixture("res2net_tiny_s1.pth")));
        foreach (string path in new[] { legacyAsBin, safetensorsAsPth })
        {
            var back = CheckpointFile.ReadStateDict(path);
            Assert.Equal(sd.Keys, back.Keys);
            Assert.All(sd, e => Assert.Equal(e.Value.Data, back[e.Key].Data));
        }
    }

    [Theory]
    [InlineData("a.pth", "PyTorchZip")]
    [InlineData("a.pt", "PyTorchZip")]
    [InlineData("a.bin", "PyTorchZip")]
    [InlineData("a.safetensors", "SafeTensors")]
    public void Write_chooses_the_format_by_extension(string name, string container)
    {
        var kind = Enum.Parse<CheckpointContainer>(container);
        using var dir = new TempDir();
        string path = dir.File(name);
        CheckpointFile.Write(path, [new("w", TensorData.FromFloats([1, 2], [2]))]);
        Assert.Equal(kind, CheckpointFile.Detect(path));
        Assert.Equal([1f, 2f], CheckpointFile.ReadStateDict(path)["w"].ToFloatArray());
    }

    [Fact]
    public void Truncated_zip_without_central_directory()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.pth");
        byte[] bytes = File.ReadAllBytes(TestPaths.Fixture("res2net_tiny_s4.pth"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Equal("cut.pth: the file is truncated or damaged: its zip central directory is missing or unreadable.", e.Message);
    }

    [Fact]
    public void Legacy_file_that_ends_inside_a_pickle()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.legacy.pth");
        byte[] bytes = File.ReadAllBytes(TestPaths.Fixture("res2net_tiny_s4.legacy.pth"));
        File.WriteAllBytes(path, bytes[..500]);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Matches(@"^cut\.legacy\.pth: the file is truncated: the object pickle needs [\d,]+ bytes at offset [\d,]+ but only [\d,]+ remain\.$", e.Message);
    }

    [Fact]
    public void Legacy_file_that_ends_inside_a_storage()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.legacy.pth");
        byte[] bytes = File.ReadAllBytes(TestPaths.Fixture("res2net_tiny_s4.legacy.pth"));
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.ReadStateDict(path));
        Assert.Matches($@"^cut\.legacy\.pth: the file is truncated: tensor '[\w.]+' needs [\d,]+ bytes at offset [\d,]+ but the file ends at {bytes.Length - 100:N0}\.$", e.Message);
    }

    [Fact]
    public void Missing_file_names_the_file()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.ReadStateDict("/nonexistent/none.pth"));
        Assert.Equal("none.pth: no such file.", e.Message);
    }
}
