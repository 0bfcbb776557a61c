using Res2Net.Imaging;
using Xunit;

namespace Res2Net.Tests.Imaging;

public class ImageFilesTests
{
    [Theory]
    [InlineData("a.jpg", true)]
    [InlineData("a.JPEG", true)]
    [InlineData("dir/b.Png", true)]
    [InlineData("c.bmp", true)]
    [InlineData("d.gif", true)]
    [InlineData("e.webp", true)]
    [InlineData("f.txt", false)]
    [InlineData("g.npy", false)]
    [InlineData("jpg", false)]
    public void Recognises_images_by_extension(string path, bool expected) => Assert.Equal(expected, ImageFiles.IsImageFile(path));

    [Fact]
    public void Folders_are_recursed_and_sorted_ordinally_and_files_keep_their_order()
    {
        using var dir = new ImagingTempDir();
        byte[] none = [];
        dir.Write("photos/b.jpg", none);
        dir.Write("photos/B.png", none);
        dir.Write("photos/a/z.webp", none);
        dir.Write("photos/a.gif", none);
        dir.Write("photos/readme.txt", none);
        dir.Write("photos/.hidden.jpg", none);
        string named = dir.Write("named.txt", none);

        var found = ImageFiles.Expand([named, Path.Combine(dir.Path, "photos")]);
        var relative = found.Select(p => Path.GetRelativePath(dir.Path, p).Replace('\\', '/')).ToList();
        Assert.Equal(["named.txt", "photos/B.png", "photos/a.gif", "photos/a/z.webp", "photos/b.jpg"], relative);
    }

    [Fact]
    public void A_missing_input_is_named()
    {
        var e = Assert.Throws<Res2NetException>(() => ImageFiles.Expand(["/no/such/place.jpg"]));
        Assert.Equal("/no/such/place.jpg: no such file or folder.", e.Message);
    }
}
