namespace Res2Net.Cli;

/// <summary>A command line the tool cannot run (options that exclude each other, a missing one): exit code 2, the message as it is.</summary>
internal sealed class UsageException(string message) : Res2NetException(message);
