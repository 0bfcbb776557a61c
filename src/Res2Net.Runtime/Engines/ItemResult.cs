namespace Res2Net.Engines;

/// <summary>The result for one input row, or why there is none (an image that could not be decoded, say).</summary>
/// <typeparam name="T">What is computed per row.</typeparam>
/// <param name="Item">The row.</param>
/// <param name="Value">The result, when there is one.</param>
/// <param name="Error">One sentence naming the input and what is wrong, when there is no result.</param>
public sealed record ItemResult<T>(InputItem Item, T? Value, string? Error)
{
    /// <summary>Whether there is a result.</summary>
    public bool Ok => Error is null;
}
