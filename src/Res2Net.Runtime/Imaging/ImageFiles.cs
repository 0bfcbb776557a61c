using Res2Net.IO;

namespace Res2Net.Imaging;

/// <summary>Recognises image files by extension and expands inputs (files and folders) into image paths.</summary>
public static class ImageFiles
{
    /// <summary>The extensions read as images, lower case with the dot.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    /// <summary>Whether the path ends in one of <see cref="Extensions"/> (any case).</summary>
    public static bool IsImageFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var ext = Path.GetExtension(path.AsSpan());
        foreach (var e in Extensions)
        {
            if (ext.Equals(e, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Expands inputs in the order given: a named file stays as it is (whatever its extension, since it was named), a
    /// folder becomes the image files under it, recursively, sorted by ordinal path so that runs repeat exactly.
    /// Hidden entries and files that are no images by extension are skipped. Every file and folder is visited once: a
    /// link to a file is followed the first time its target is met and skipped after that; a link to a folder is not
    /// followed (as find(1) does by default: a link to / would walk the whole disk); FIFOs, devices and sockets are
    /// skipped; each skip is noted to <paramref name="skipped"/>. A walk that meets more than
    /// <see cref="Limits.MaxFolderEntries"/> entries stops with an error.
    /// </summary>
    /// <exception cref="Res2NetException">An input is neither a file nor a folder, the inputs hold no image, or a folder is too large.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> inputs, Action<string>? skipped = null) => Expand(inputs, skipped, keepMissing: false);

    /// <summary>
    /// <see cref="Expand(IEnumerable{string}, Action{string}?)"/>, where <paramref name="keepMissing"/> keeps a path that
    /// does not exist in the list (to be reported in its place) instead of refusing it. A folder without images is
    /// noted to <paramref name="skipped"/>; inputs that leave nothing at all are an error.
    /// </summary>
    internal static List<string> Expand(IEnumerable<string> inputs, Action<string>? skipped, bool keepMissing)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var named = inputs.ToList();
        var result = new List<string>();
        foreach (var input in named)
        {
            var entry = FileSystemEntry.Of(input);
            if (entry.Kind == EntryKind.Directory)
            {
                var found = Folder(input, skipped);
                if (found.Count == 0)
                {
                    skipped?.Invoke($"{input}: {NoImages}");
                }

                result.AddRange(found);
            }
            else if (entry.Kind == EntryKind.Missing && !keepMissing)
            {
                throw new Res2NetException($"{input}: no such file or folder.");
            }
            else
            {
                result.Add(input);
            }
        }

        if (result.Count == 0 && named.Count > 0)
        {
            throw new Res2NetException($"{string.Join(", ", named.Take(3))}{(named.Count > 3 ? ", ..." : "")}: {NoImages}");
        }

        return result;
    }

    private static string NoImages => $"no image files ({string.Join(", ", Extensions)}) there.";

    /// <summary>The image files under one folder, each once, sorted.</summary>
    internal static List<string> Folder(string root, Action<string>? skipped)
    {
        var found = new List<string>();
        var seen = new HashSet<(ulong, ulong)>();
        var pending = new Stack<string>();
        var visited = 0;
        var rootEntry = FileSystemEntry.Of(root);
        seen.Add((rootEntry.Device, rootEntry.Inode));
        pending.Push(root);
        var options = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = true };
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(dir, "*", options).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                skipped?.Invoke($"{dir}: skipped, the folder cannot be read ({e.Message.TrimEnd('.')}).");
                continue;
            }

            foreach (var path in entries)
            {
                if (++visited > Limits.MaxFolderEntries)
                {
                    throw new Res2NetException($"{root}: holds more than {Limits.MaxFolderEntries:N0} files and folders; name smaller folders.");
                }

                var entry = FileSystemEntry.Of(path);
                switch (entry.Kind)
                {
                    case EntryKind.Directory when FileSystemEntry.Of(path, followLinks: false).Kind == EntryKind.SymbolicLink:
                        skipped?.Invoke($"{path}: skipped, a symbolic link to a folder (folders are walked only where they are).");
                        break;
                    case EntryKind.Directory:
                        if (seen.Add((entry.Device, entry.Inode)))
                        {
                            pending.Push(path);
                        }

                        break;
                    case EntryKind.Regular:
                        if (IsImageFile(path) && seen.Add((entry.Device, entry.Inode)))
                        {
                            found.Add(path);
                        }

                        break;
                    case EntryKind.Missing:
                        if (IsImageFile(path))
                        {
                            skipped?.Invoke($"{path}: skipped, a symbolic link to nothing.");
                        }

                        break;
                    default:
                        if (IsImageFile(path))
                        {
                            skipped?.Invoke($"{path}: skipped, {entry.Describe()} is not a regular file.");
                        }

                        break;
                }
            }
        }

        found.Sort(StringComparer.Ordinal);
        return found;
    }
}
