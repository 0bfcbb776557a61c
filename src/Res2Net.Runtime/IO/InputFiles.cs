namespace Res2Net.IO;

/// <summary>
/// Opens files the user named for reading, as untrusted input: only regular files (a FIFO would block the reader
/// forever and a device such as /dev/zero never ends), each refused with one sentence that names it.
/// </summary>
internal static class InputFiles
{
    /// <summary>Opens a regular file for reading; <paramref name="what"/> names it in messages ("image", "checkpoint").</summary>
    public static FileStream OpenRead(string path, string what = "file")
    {
        ArgumentNullException.ThrowIfNull(path);
        var entry = FileSystemEntry.Of(path);
        if (entry.Kind == EntryKind.Missing)
        {
            throw new Res2NetException($"{path}: no such file.");
        }

        if (entry.Kind != EntryKind.Regular)
        {
            throw new Res2NetException($"{path}: the {what} is {entry.Describe()}, not a regular file.");
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Res2NetException($"{path}: cannot open the {what} ({e.Message.TrimEnd('.')}).", e);
        }
    }

    /// <summary>The whole file, refused when it is larger than <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what = "file")
    {
        using var stream = OpenRead(path, what);
        var length = stream.Length;
        if (length > maxBytes)
        {
            throw new Res2NetException($"{path}: the {what} has {length:N0} bytes, more than the {maxBytes:N0} allowed.");
        }

        var bytes = new byte[length];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            throw new Res2NetException($"{path}: cannot read the {what} ({e.Message.TrimEnd('.')}).", e);
        }

        return bytes;
    }
}
