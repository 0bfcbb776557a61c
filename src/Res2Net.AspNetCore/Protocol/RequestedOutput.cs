namespace Res2Net.AspNetCore.Protocol;

/// <summary>An output a request asks for: as binary data or not (REST; null: the request's default), and as the top-k classes.</summary>
internal sealed record RequestedOutput(string Name, bool? Binary, int? Classification);
