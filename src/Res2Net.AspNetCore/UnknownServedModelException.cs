namespace Res2Net.AspNetCore;

/// <summary>A request names a model the service does not serve: HTTP answers 404.</summary>
public sealed class UnknownServedModelException : Res2NetException
{
    /// <summary>The error for <paramref name="name"/>, listing what is served.</summary>
    public UnknownServedModelException(string name, IReadOnlyList<string> served)
        : base($"This service serves no model named '{name}' (it serves {(served.Count == 0 ? "none" : string.Join(", ", served))}).")
    {
        Name = name;
    }

    /// <summary>The name asked for.</summary>
    public string Name { get; }
}
