namespace Res2Net.Client.Internal;

/// <summary>The values a protocol parameter can hold: a string, a bool, a 64-bit integer or a double.</summary>
internal static class ParameterValues
{
    /// <summary><paramref name="value"/> as string, bool, long, ulong (above long's range only) or double; other types are refused.</summary>
    public static object Normalize(string key, object? value) => value switch
    {
        string or bool or long or double => value,
        int i => (long)i,
        short s => (long)s,
        sbyte b => (long)b,
        byte b => (long)b,
        ushort u => (long)u,
        uint u => (long)u,
        ulong u => u <= long.MaxValue ? (long)u : u,
        float f => (double)f,
        null => throw new ArgumentException($"Parameter '{key}' is null; a parameter is a string, bool, long or double.", nameof(InferenceRequest.Parameters)),
        _ => throw new ArgumentException(
            $"Parameter '{key}' is a {value.GetType().Name}; a parameter is a string, bool, long or double.", nameof(InferenceRequest.Parameters)),
    };
}
