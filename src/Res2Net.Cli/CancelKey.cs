using System.Runtime.InteropServices;

namespace Res2Net.Cli;

/// <summary>
/// The tool's one cancellation: the first Ctrl-C (SIGINT) or SIGTERM cancels the token every command passes to the
/// library, which stops between batches or steps and keeps what it has (training saves a resumable state); a second
/// Ctrl-C ends the process at once.
/// </summary>
internal static class CancelKey
{
    private static readonly CancellationTokenSource Source = new();
    private static readonly List<PosixSignalRegistration> Registrations = Register();

    public static CancellationToken Token
    {
        get
        {
            GC.KeepAlive(Registrations);
            return Source.Token;
        }
    }

    private static List<PosixSignalRegistration> Register()
    {
        var list = new List<PosixSignalRegistration>();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            list.Add(PosixSignalRegistration.Create(signal, context =>
            {
                if (!Source.IsCancellationRequested)
                {
                    context.Cancel = true;
                    Source.Cancel();
                }
            }));
        }

        return list;
    }
}
