namespace Res2Net.Models;

/// <summary>A model name, or weights tag, that is not registered; the message suggests the closest registered names.</summary>
public sealed class UnknownModelException : Res2NetException
{
    /// <summary>An error for <paramref name="name"/>, with the closest registered names.</summary>
    public UnknownModelException(string name, IReadOnlyList<string> suggestions)
        : this($"Unknown model '{name}'; did you mean {string.Join(", ", suggestions)}? (ModelRegistry.All lists every model).", name, suggestions)
    {
    }

    /// <summary>An error with its own sentence, for <paramref name="name"/>.</summary>
    internal UnknownModelException(string message, string name, IReadOnlyList<string> suggestions)
        : base(message)
    {
        Name = name;
        Suggestions = suggestions;
    }

    /// <summary>The name that was asked for.</summary>
    public string Name { get; }

    /// <summary>The closest registered names, closest first (empty when the model exists but lacks what was asked).</summary>
    public IReadOnlyList<string> Suggestions { get; }
}
