namespace Res2Net.Weights;

/// <summary>The key layout a checkpoint was saved in; every layout is read into the official one.</summary>
public enum CheckpointLayout
{
    /// <summary>The official Res2Net code's keys (also timm's and this library's): conv1, bn1, layer1..layer4, fc.</summary>
    Official,

    /// <summary>mmdetection's Res2Net backbone: the deep stem as stem.0..stem.7, no classifier; "backbone." in detector checkpoints.</summary>
    MMDetection,

    /// <summary>The Res2Net authors' detectron2 port: stem.conv1/stem.bn1, res2..res5, conv1.norm, shortcut; "backbone.bottom_up." in detector checkpoints.</summary>
    Detectron2,
}
