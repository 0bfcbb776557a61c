using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Res2Net.IO;

/// <summary>
/// The SHA-256 of input files, computed once per process: a weights file is hashed to check it against its published
/// hash, to name its exports and to tell it is the file an export was made from, and each of those asks here. A file is
/// hashed again only when its identity, size or modification time changed since.
/// </summary>
internal static class FileHashes
{
    private static readonly ConcurrentDictionary<string, (FileSystemEntry Entry, DateTime Modified, string Hash)> Known = new(StringComparer.Ordinal);
    private static long computed;

    /// <summary>Files hashed so far in this process (tests count them: a file is hashed once).</summary>
    public static long Computed => Interlocked.Read(ref computed);

    /// <summary>The lowercase hex SHA-256 of a regular file; <paramref name="what"/> names it in errors ("checkpoint").</summary>
    /// <exception cref="Res2NetException">The file is missing, not a regular file, or cannot be read.</exception>
    public static string Sha256(string path, string what = "file")
    {
        var full = Path.GetFullPath(path);
        var entry = FileSystemEntry.Of(full);
        var modified = entry.Kind == EntryKind.Regular ? File.GetLastWriteTimeUtc(full) : default;
        if (Known.TryGetValue(full, out var known) && known.Entry == entry && known.Modified == modified)
        {
            return known.Hash;
        }

        string hash;
        using (var stream = InputFiles.OpenRead(path, what))
        {
            try
            {
                hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            }
            catch (IOException e)
            {
                throw new Res2NetException($"{path}: cannot read the {what} ({e.Message.TrimEnd('.')}).", e);
            }
        }

        Interlocked.Increment(ref computed);
        Known[full] = (entry, modified, hash);
        return hash;
    }

    /// <summary><see cref="Sha256"/>, reading asynchronously (a large file on a slow disk) and stopping when cancelled.</summary>
    public static async Task<string> Sha256Async(string path, string what, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        var entry = FileSystemEntry.Of(full);
        var modified = entry.Kind == EntryKind.Regular ? File.GetLastWriteTimeUtc(full) : default;
        if (Known.TryGetValue(full, out var known) && known.Entry == entry && known.Modified == modified)
        {
            return known.Hash;
        }

        string hash;
        await using (var stream = InputFiles.OpenRead(path, what))
        {
            try
            {
                hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            }
            catch (IOException e)
            {
                throw new Res2NetException($"{path}: cannot read the {what} ({e.Message.TrimEnd('.')}).", e);
            }
        }

        Interlocked.Increment(ref computed);
        Known[full] = (entry, modified, hash);
        return hash;
    }

    /// <summary>Records a hash computed while the file was written or downloaded, so that it is not read again.</summary>
    public static void Remember(string path, string hash)
    {
        var full = Path.GetFullPath(path);
        var entry = FileSystemEntry.Of(full);
        if (entry.Kind == EntryKind.Regular)
        {
            Known[full] = (entry, File.GetLastWriteTimeUtc(full), hash);
        }
    }
}
