namespace Res2Net.Imaging;

/// <summary>
/// Reads the colour PIL shows where a GIF's first frame is transparent. Skia decodes those pixels to transparent
/// black, but PIL keeps palette indices and <c>convert('RGB')</c> shows the palette colour of the transparent index
/// (or of index 0 outside the frame when there is none). Only the block structure before the first image is read,
/// never the LZW pixel data.
/// </summary>
internal static class GifFirstFrame
{
    /// <summary>The RGB colour for the first frame's transparent pixels, or null when the file does not say.</summary>
    public static (byte R, byte G, byte B)? TransparentFill(ReadOnlySpan<byte> gif)
    {
        if (gif.Length < 13 || !gif.StartsWith("GIF8"u8))
        {
            return null;
        }

        int pos = 13;
        ReadOnlySpan<byte> table = default;
        if ((gif[10] & 0x80) != 0)
        {
            int size = 3 << ((gif[10] & 7) + 1);
            if (gif.Length < pos + size)
            {
                return null;
            }

            table = gif.Slice(pos, size);
            pos += size;
        }

        int? transparent = null;
        while (pos < gif.Length)
        {
            byte block = gif[pos++];
            if (block == 0x21 && pos < gif.Length)
            {
                byte label = gif[pos++];
                // Graphic control extension: packed flags, delay (2), transparent index.
                if (label == 0xF9 && pos + 4 < gif.Length && gif[pos] >= 4 && (gif[pos + 1] & 1) != 0)
                {
                    transparent = gif[pos + 4];
                }

                if (!SkipSubBlocks(gif, ref pos))
                {
                    return null;
                }
            }
            else if (block == 0x2C && pos + 9 <= gif.Length)
            {
                byte packed = gif[pos + 8];
                if ((packed & 0x80) != 0)
                {
                    int size = 3 << ((packed & 7) + 1);
                    if (gif.Length < pos + 9 + size)
                    {
                        return null;
                    }

                    table = gif.Slice(pos + 9, size);
                }

                int index = transparent ?? 0;
                if (table.Length < 3 * (index + 1))
                {
                    return null;
                }

                return (table[3 * index], table[3 * index + 1], table[3 * index + 2]);
            }
            else
            {
                return null;
            }
        }

        return null;
    }

    private static bool SkipSubBlocks(ReadOnlySpan<byte> gif, ref int pos)
    {
        while (pos < gif.Length)
        {
            int length = gif[pos++];
            if (length == 0)
            {
                return true;
            }

            pos += length;
        }

        return false;
    }
}
