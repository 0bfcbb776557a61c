namespace Res2Net.Models;

/// <summary>A model name that is not registered; the message suggests the closest registered names.</summary>
public sealed class UnknownModelException : Res2NetException
{
    /// <summary>An error for <paramref name="name"/>, with the closest registered names.</summary>
    public UnknownModelException(string name, IReadOnlyList<string> suggestions)
        : base($"Unknown model '{name}'; did you mean {string.Join(", ", suggestions)}? (ModelRegistry.All lists every model).")
    {
        Name = name;
        Suggestions = suggestions;
    }

    /// <summary>The name that was asked for.</summary>
    public string Name { get; }

    /// <summary>The closest registered names, closest first.</summary>
    public IReadOnlyList<string> Suggestions { get; }
}
