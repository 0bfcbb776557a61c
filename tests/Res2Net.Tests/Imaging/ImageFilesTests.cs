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
    public void Links_loops_fifos_and_links_to_folders_end_and_are_noted()
    {
        using var dir = new TempDir();
        var photos = Directory.CreateDirectory(Path.Combine(dir.Path, "photos")).FullName;
        File.Copy(Path.Combine(TestPaths.Fixtures, "images", "rocket.jpg"), Path.Combine(photos, "a.jpg"));
        File.CreateSymbolicLink(Path.Combine(photos, "again"), photos);            // a loop
        File.CreateSymbolicLink(Path.Combine(photos, "root"), "/");                 // the whole disk
        File.CreateSymbolicLink(Path.Combine(photos, "b.jpg"), Path.Combine(photos, "a.jpg"));
        File.CreateSymbolicLink(Path.Combine(photos, "gone.jpg"), Path.Combine(photos, "missing.jpg"));
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(photos, "pipe.jpg")])!)
        {
            mkfifo.WaitForExit();
        }

        var notes = new List<string>();
        var found = ImageFiles.Expand([photos], notes.Add);
        Assert.Single(found);
        Assert.Contains(notes, n => n.EndsWith("again: skipped, a symbolic link to a folder (folders are walked only where they are).", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.EndsWith("root: skipped, a symbolic link to a folder (folders are walked only where they are).", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.EndsWith("gone.jpg: skipped, a symbolic link to nothing.", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.EndsWith("pipe.jpg: skipped, a FIFO (named pipe) is not a regular file.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_folder_without_images_is_named()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<Res2NetException>(() => ImageFiles.Expand([dir.Path]));
        Assert.Equal($"{dir.Path}: no image files (.jpg, .jpeg, .png, .bmp, .gif, .webp) there.", e.Message);

        // What classify and features expand: an empty folder beside a photo is a note; alone, an error.
        e = Assert.Throws<Res2NetException>(() => Res2Net.Engines.Predictor.ExpandInputs([dir.Path]));
        Assert.Equal($"{dir.Path}: no image files (.jpg, .jpeg, .png, .bmp, .gif, .webp) there.", e.Message);
        var notes = new List<string>();
        var photo = Path.Combine(TestPaths.Fixtures, "images", "rocket.jpg");
        Assert.Equal([photo], Res2Net.Engines.Predictor.ExpandInputs([dir.Path, photo], notes.Add));
        Assert.Equal([$"{dir.Path}: no image files (.jpg, .jpeg, .png, .bmp, .gif, .webp) there."], notes);
    }

    [Fact]
    public void A_missing_input_is_named()
    {
        var e = Assert.Throws<Res2NetException>(() => ImageFiles.Expand(["/no/such/place.jpg"]));
        Assert.Equal("/no/such/place.jpg: no such file or folder.", e.Message);
    }
}
