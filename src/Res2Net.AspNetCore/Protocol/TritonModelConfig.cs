using System.Globalization;
using System.Text;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>
/// What the service needs from a Triton model configuration (<c>config.pbtxt</c>, Triton's <c>ModelConfig</c> in
/// protobuf text format): the name, platform or backend, <c>max_batch_size</c> and <c>default_model_filename</c>.
/// Google.Protobuf's C# runtime has no text-format parser, and the whole schema is not needed: this reads the top-level
/// scalar fields and skips the rest (nested messages, lists), bounded in size.
/// </summary>
internal sealed record TritonModelConfig(string? Name, string? Platform, string? Backend, int MaxBatchSize, string? DefaultModelFilename)
{
    /// <summary>Reads <paramref name="path"/>; <see cref="Res2NetException"/> says what is wrong with it.</summary>
    public static TritonModelConfig Read(string path)
    {
        var bytes = IO.InputFiles.ReadAllBytes(path, Limits.MaxModelConfigBytes, "model configuration");
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new Res2NetException($"{path}: the model configuration is not UTF-8 text.");
        }

        return Parse(text, path);
    }

    /// <summary>Parses configuration text; <paramref name="source"/> names it in errors.</summary>
    public static TritonModelConfig Parse(string text, string source)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var tokens = new Tokenizer(text, source);
        while (tokens.Next() is { } key)
        {
            if (!IsIdentifier(key))
            {
                throw tokens.Error($"expected a field name, found '{key}'");
            }

            var next = tokens.Next() ?? throw tokens.Error($"the field '{key}' has no value");
            if (next == ":")
            {
                next = tokens.Next() ?? throw tokens.Error($"the field '{key}' has no value");
            }

            if (next is "{" or "<" or "[")
            {
                tokens.SkipBlock(next);
                continue;
            }

            fields[key] = next;
        }

        var maxBatch = 0;
        if (fields.TryGetValue("max_batch_size", out var batch) && !int.TryParse(batch, NumberStyles.None, CultureInfo.InvariantCulture, out maxBatch))
        {
            throw new Res2NetException($"{source}: max_batch_size must be a whole number (got {batch}).");
        }

        return new TritonModelConfig(String(fields, "name"), String(fields, "platform"), String(fields, "backend"), maxBatch, String(fields, "default_model_filename"));
    }

    private static string? String(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var value) ? value.StartsWith('"') || value.StartsWith('\'') ? value[1..^1] : value : null;

    private static bool IsIdentifier(string token) => token.Length > 0 && (char.IsAsciiLetter(token[0]) || token[0] == '_') && token.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Protobuf text format's tokens: identifiers and numbers, quoted strings (escapes decoded), punctuation; # comments skipped.</summary>
    private sealed class Tokenizer(string text, string source)
    {
        private int position;

        public string? Next()
        {
            while (position < text.Length)
            {
                var c = text[position];
                if (char.IsWhiteSpace(c))
                {
                    position++;
                }
                else if (c == '#')
                {
                    while (position < text.Length && text[position] != '\n')
                    {
                        position++;
                    }
                }
                else
                {
                    break;
                }
            }

            if (position >= text.Length)
            {
                return null;
            }

            var first = text[position];
            if (first is '"' or '\'')
            {
                var value = new StringBuilder().Append(first);
                position++;
                while (true)
                {
                    if (position >= text.Length || text[position] == '\n')
                    {
                        throw Error("a string is not closed");
                    }

                    var c = text[position++];
                    if (c == first)
                    {
                        return value.Append(first).ToString();
                    }

                    if (c == '\\' && position < text.Length)
                    {
                        var e = text[position++];
                        value.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => e });
                        continue;
                    }

                    value.Append(c);
                }
            }

            if ("{}<>[]:,;".Contains(first, StringComparison.Ordinal))
            {
                position++;
                return first.ToString();
            }

            var start = position;
            while (position < text.Length && !char.IsWhiteSpace(text[position]) && !"{}<>[]:,;#\"'".Contains(text[position], StringComparison.Ordinal))
            {
                position++;
            }

            return text[start..position];
        }

        /// <summary>Skips a nested message or list whose opening token was just read, up to its matching close.</summary>
        public void SkipBlock(string open)
        {
            var stack = new Stack<string>();
            stack.Push(open);
            while (stack.Count > 0)
            {
                var token = Next() ?? throw Error($"a '{open}' is not closed");
                if (token is "{" or "<" or "[")
                {
                    if (stack.Count == Limits.MaxJsonDepth)
                    {
                        throw Error($"more than {Limits.MaxJsonDepth} nested blocks");
                    }

                    stack.Push(token);
                }
                else if (token is "}" or ">" or "]")
                {
                    var expected = stack.Pop() switch { "{" => "}", "<" => ">", _ => "]" };
                    if (token != expected)
                    {
                        throw Error($"'{token}' closes a block opened with the wrong bracket");
                    }
                }
            }
        }

        public Res2NetException Error(string problem)
        {
            var line = text.AsSpan(0, Math.Min(position, text.Length)).Count('\n') + 1;
            return new Res2NetException($"{source}: line {line}: {problem}.");
        }
    }
}
