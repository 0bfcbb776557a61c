using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Res2Net.Models;

/// <summary>
/// Factories for the layers that own tensors, so a whole model can be built on one device (LibTorch's meta device,
/// for shape-only signatures) without touching TorchSharp's process-wide default device, which other threads use.
/// </summary>
internal static class Layers
{
    [ThreadStatic]
    private static Device? device;

    /// <summary>The device models built on this thread put their tensors on (null: TorchSharp's default).</summary>
    public static Device? Device => device;

    /// <summary>Builds every model on this thread on <paramref name="target"/> until disposed.</summary>
    public static IDisposable On(Device target)
    {
        var previous = device;
        device = target;
        return new Restore(() => device = previous);
    }

    public static BatchNorm2d BatchNorm(long channels) => nn.BatchNorm2d(channels, device: device);

    public static Linear Linear(long inputs, long outputs) => nn.Linear(inputs, outputs, device: device);

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
