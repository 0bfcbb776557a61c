using System.Runtime.InteropServices;

namespace Res2Net.IO;

/// <summary>What a path names, as stat(2) tells: its type and identity.</summary>
internal enum EntryKind
{
    Missing,
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    Unknown,
}

/// <summary>
/// The type and identity (device, inode) of a path. .NET reports neither (FileSystemInfo does not tell a FIFO or a
/// device from a regular file, and opening a FIFO to find out blocks), and no maintained package offers stat(2), so it
/// is called directly. Off Linux the type comes from .NET's attributes and the identity from the full path.
/// </summary>
internal readonly partial record struct FileSystemEntry(EntryKind Kind, ulong Device, ulong Inode, long Size)
{
    private const int StatBufferSize = 256;

    /// <summary>Stats <paramref name="path"/>; <paramref name="followLinks"/> false describes a symbolic link itself.</summary>
    public static FileSystemEntry Of(string path, bool followLinks = true)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return Portable(path, followLinks);
        }

        Span<byte> buffer = stackalloc byte[StatBufferSize];
        int rc;
        unsafe
        {
            fixed (byte* b = buffer)
            {
                rc = followLinks ? stat(path, b) : lstat(path, b);
            }
        }

        if (rc != 0)
        {
            return new FileSystemEntry(EntryKind.Missing, 0, 0, 0);
        }

        // struct stat: st_dev and st_ino first on both; st_mode at 24 on x86-64 (after an 8-byte st_nlink), at 16 on
        // arm64 (the generic layout); st_size at 48 on both.
        var dev = BitConverter.ToUInt64(buffer[..8]);
        var ino = BitConverter.ToUInt64(buffer[8..16]);
        var modeAt = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        var mode = BitConverter.ToUInt32(buffer[modeAt..(modeAt + 4)]);
        var size = BitConverter.ToInt64(buffer[48..56]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => EntryKind.Regular,
            0x4000 => EntryKind.Directory,
            0xA000 => EntryKind.SymbolicLink,
            0x1000 => EntryKind.Fifo,
            0x2000 => EntryKind.CharacterDevice,
            0x6000 => EntryKind.BlockDevice,
            0xC000 => EntryKind.Socket,
            _ => EntryKind.Unknown,
        };
        return new FileSystemEntry(kind, dev, ino, size);
    }

    /// <summary>"a FIFO", "a character device" ...: what the entry is, for messages.</summary>
    public string Describe() => Kind switch
    {
        EntryKind.Missing => "missing",
        EntryKind.Regular => "a regular file",
        EntryKind.Directory => "a folder",
        EntryKind.SymbolicLink => "a symbolic link",
        EntryKind.Fifo => "a FIFO (named pipe)",
        EntryKind.CharacterDevice => "a character device",
        EntryKind.BlockDevice => "a block device",
        EntryKind.Socket => "a socket",
        _ => "not a regular file",
    };

    private static FileSystemEntry Portable(string path, bool followLinks)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists)
        {
            return new FileSystemEntry(EntryKind.Missing, 0, 0, 0);
        }

        if (!followLinks && info.LinkTarget is not null)
        {
            return new FileSystemEntry(EntryKind.SymbolicLink, 0, 0, 0);
        }

        var identity = (ulong)StringComparer.Ordinal.GetHashCode(Path.GetFullPath(path));
        return info is DirectoryInfo
            ? new FileSystemEntry(EntryKind.Directory, 0, identity, 0)
            : new FileSystemEntry(EntryKind.Regular, 0, identity, ((FileInfo)info).Length);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int stat(string path, byte* buffer);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int lstat(string path, byte* buffer);
}
