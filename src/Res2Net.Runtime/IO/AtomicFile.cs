using System.Security.Cryptography;

namespace Res2Net.IO;

/// <summary>
/// The one way this library writes an output file: into a temporary file created exclusively, under an unpredictable
/// name, in the target's folder; flushed to disk; then renamed over the target, so that readers see the old file or
/// the whole new one and an interrupted write leaves nothing behind. Only a missing path or a regular file is written:
/// a symbolic link (dangling or not) is never written through, and a folder, device, FIFO or socket is never replaced;
/// those writes are refused with one sentence.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, which gets the temporary file's stream.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var target = Resolve(path);
        var temp = TempPath(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Delete(temp);
            throw new Res2NetException($"{path}: cannot write the file ({e.Message.TrimEnd('.')}).", e);
        }
        catch
        {
            Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// <see cref="Write(string, Action{Stream})"/> for a writer that takes its time (a download): <paramref name="write"/>
    /// fills the temporary file and may refuse what it wrote by throwing (a wrong hash), which leaves nothing behind.
    /// </summary>
    public static async Task WriteAsync(string path, Func<FileStream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        var target = Resolve(path);
        var temp = TempPath(target);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Delete(temp);
            throw new Res2NetException($"{path}: cannot write the file ({e.Message.TrimEnd('.')}).", e);
        }
        catch
        {
            Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Removes the temporary files this class names (<c>.NAME.HEX.tmp</c>) in <paramref name="folder"/> that are older
    /// than <paramref name="age"/>: what a killed process left (younger ones may belong to a write in progress).
    /// </summary>
    public static void RemoveStale(string folder, TimeSpan age)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, ".*"))
            {
                // ".NAME.HEX.tmp", where NAME may hold dots; WriteVia appends the target's extension after "tmp".
                var parts = Path.GetFileName(file).Split('.');
                var ours = Enumerable.Range(2, Math.Max(0, parts.Length - 3))
                    .Any(i => parts[i].Length == 16 && parts[i].All(char.IsAsciiHexDigitLower) && parts[i + 1] == "tmp");
                if (ours && FileSystemEntry.Of(file, followLinks: false).Kind == EntryKind.Regular
                    && DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > age)
                {
                    Delete(file);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a folder that cannot be listed has nothing of ours to clean.
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> as <see cref="Write(string, Action{Stream})"/> does.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>
    /// For writers that need a file name rather than a stream (a library that saves to a path): <paramref name="write"/>
    /// gets a temporary path in the target's folder that ends in the target's extension, and the file it leaves there
    /// is flushed and renamed over the target.
    /// </summary>
    public static void WriteVia(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var target = Resolve(path);
        var temp = TempPath(target) + Path.GetExtension(target);
        try
        {
            // Created (exclusively) first, so that no planted file or link under this name is written through.
            new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose();
            write(temp);
            using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Delete(temp);
            throw new Res2NetException($"{path}: cannot write the file ({e.Message.TrimEnd('.')}).", e);
        }
        catch
        {
            Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// The file to replace: <paramref name="path"/>, refused when it exists and is not a regular file (a link is not
    /// followed: whoever planted it chose what it points to), or when its folder does not exist.
    /// </summary>
    internal static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var entry = FileSystemEntry.Of(full, followLinks: false);
        if (entry.Kind == EntryKind.SymbolicLink)
        {
            throw new Res2NetException($"{path}: the output is a symbolic link; it is not written through (remove the link or give another path).");
        }

        if (entry.Kind is not (EntryKind.Missing or EntryKind.Regular))
        {
            throw new Res2NetException($"{path}: the output is {entry.Describe()}; give the path of a regular file to write.");
        }

        var folder = Path.GetDirectoryName(full)!;
        if (FileSystemEntry.Of(folder).Kind != EntryKind.Directory)
        {
            throw new Res2NetException($"{path}: cannot write the file (the folder {folder} does not exist).");
        }

        return full;
    }

    private static string TempPath(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");

    private static void Delete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The error that stopped the write matters more than a temporary file that could not be removed.
        }
    }
}
