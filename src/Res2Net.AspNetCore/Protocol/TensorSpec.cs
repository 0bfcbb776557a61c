using Res2Net.Engines;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>
/// One tensor a served model takes or gives on the Open Inference Protocol: its name, datatype and shape (-1 for the
/// batch), and for an output the stage it is (null: the logits).
/// </summary>
internal sealed record TensorSpec(string Name, string Datatype, long[] Shape, FeatureStage? Stage = null);
