namespace Res2Net.Client.Internal;

/// <summary>How the exceptions' messages are put together, the same for both transports.</summary>
internal static class Errors
{
    /// <summary>What was asked, to stand before the server's text: "" for the server itself, else "model 'm': ".</summary>
    public static string Prefix(string? model, string? version)
        => model is null ? "" : version is null ? $"model '{model}': " : $"model '{model}' version '{version}': ";

    /// <summary>A sentence of our own after <paramref name="prefix"/>, capitalised when nothing stands before it.</summary>
    public static string Sentence(string prefix, string sentence)
        => prefix.Length > 0 || sentence.Length == 0 ? prefix + sentence : char.ToUpperInvariant(sentence[0]) + sentence[1..];

    public static InferenceServerException Unreadable(string prefix, string problem, int? httpStatus, string? grpcStatus, Exception? inner = null)
        => new(Sentence(prefix, $"the server's answer cannot be read: {problem.TrimEnd('.')}."), httpStatus, grpcStatus, null, inner);

    public static string Seconds(TimeSpan timeout) => $"{timeout.TotalSeconds:0.###} s";
}
