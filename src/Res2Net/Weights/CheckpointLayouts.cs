using System.Text.RegularExpressions;

namespace Res2Net.Weights;

/// <summary>
/// Recognises the mmdetection and detectron2 layouts of a Res2Net backbone by their keys and renames them to the
/// official keys (docs/backbones.md lists the rules and where they come from). Detector checkpoints keep only their
/// backbone: "backbone." (mmdetection) or "backbone.bottom_up." (detectron2); the neck and heads are left out.
/// </summary>
internal static partial class CheckpointLayouts
{
    private const string Mmdetection = "backbone.";
    private const string Detectron2 = "backbone.bottom_up.";

    /// <summary>The layout and the tensors under official keys (the same dictionary when it is already official).</summary>
    /// <param name="tensors">A state dict as read from a file (<see cref="CheckpointFile.ReadStateDict(string)"/>).</param>
    /// <param name="name">The file's name, for messages.</param>
    /// <exception cref="CheckpointFormatException">Two keys map onto one official key.</exception>
    public static (CheckpointLayout Layout, IReadOnlyDictionary<string, TensorData> Tensors) ToOfficial(IReadOnlyDictionary<string, TensorData> tensors, string name)
    {
        var source = tensors;
        if (source.Keys.Any(k => k.StartsWith(Detectron2, StringComparison.Ordinal)))
        {
            source = Strip(source, Detectron2);
        }
        else if (source.Keys.Any(k => k.StartsWith(Mmdetection + "stem.", StringComparison.Ordinal) || k.StartsWith(Mmdetection + "layer1.", StringComparison.Ordinal)))
        {
            source = Strip(source, Mmdetection);
        }

        if (source.ContainsKey("stem.conv1.0.weight") || source.Keys.Any(k => k.StartsWith("res2.", StringComparison.Ordinal)))
        {
            return (CheckpointLayout.Detectron2, FromDetectron2(source, name));
        }

        if (source.ContainsKey("stem.0.weight") && source.ContainsKey("stem.7.weight"))
        {
            return (CheckpointLayout.MMDetection, Rename(source, name, key =>
                key.StartsWith("stem.7.", StringComparison.Ordinal) ? "bn1." + key[7..]
                : MmdetStem().Replace(key, "conv1.$1.")));
        }

        return (CheckpointLayout.Official, source);
    }

    private static Dictionary<string, TensorData> FromDetectron2(IReadOnlyDictionary<string, TensorData> source, string name)
    {
        // The conversion script turned fc.* into stem.fc.*: not part of any backbone.
        var renamed = Rename(source.Where(e => !e.Key.StartsWith("stem.fc.", StringComparison.Ordinal)).ToDictionary(), name, key =>
        {
            if (key.StartsWith("stem.bn1.", StringComparison.Ordinal))
            {
                return "bn1." + key["stem.bn1.".Length..];
            }

            if (key.StartsWith("stem.conv1.", StringComparison.Ordinal))
            {
                return "conv1." + key["stem.conv1.".Length..];
            }

            key = D2Stage().Replace(key, m => $"layer{int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 1}.");
            return key.Replace(".conv1.norm.", ".bn1.", StringComparison.Ordinal)
                .Replace(".conv3.norm.", ".bn3.", StringComparison.Ordinal)
                .Replace(".shortcut.1.norm.", ".downsample.2.", StringComparison.Ordinal)
                .Replace(".shortcut.1.", ".downsample.1.", StringComparison.Ordinal);
        });

        // FrozenBN keeps no num_batches_tracked; PyTorch's BatchNorm2d does (0 changes nothing in evaluation).
        foreach (var key in renamed.Keys.Where(k => k.EndsWith(".running_var", StringComparison.Ordinal)).ToList())
        {
            var tracked = key[..^"running_var".Length] + "num_batches_tracked";
            renamed.TryAdd(tracked, new TensorData(DType.Int64, [], new byte[8]));
        }

        return renamed;
    }

    private static Dictionary<string, TensorData> Strip(IReadOnlyDictionary<string, TensorData> tensors, string prefix) =>
        tensors.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(e => e.Key[prefix.Length..], e => e.Value);

    private static Dictionary<string, TensorData> Rename(IReadOnlyDictionary<string, TensorData> tensors, string source, Func<string, string> rename)
    {
        var result = new Dictionary<string, TensorData>();
        foreach (var (key, value) in tensors)
        {
            var official = rename(key);
            if (!result.TryAdd(official, value))
            {
                throw new CheckpointFormatException($"{source}: its keys '{key}' and another both name '{official}' in the official layout.");
            }
        }

        return result;
    }

    [GeneratedRegex(@"^stem\.(\d+)\.")]
    private static partial Regex MmdetStem();

    [GeneratedRegex(@"^res(\d)\.")]
    private static partial Regex D2Stage();
}
