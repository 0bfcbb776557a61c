namespace Res2Net.Models;

/// <summary>Whose Res2Net blocks a ResNet-shaped model follows where implementations differ.</summary>
public enum BlockStyle
{
    /// <summary>
    /// The official code's blocks (and timm's, which are the same). At output strides 8 and 16, timm's dilation: the
    /// first block of a dilated stage keeps the previous stage's dilation, and the v1b shortcut there averages 2x2
    /// windows at stride 1 over the map padded with one row and column of zeros at the bottom and right
    /// (timm's AvgPool2dSame).
    /// </summary>
    Official,

    /// <summary>
    /// mmdetection's Res2Net (its checkpoints were trained with it): the first block of a stage whose stride is 1
    /// passes its last group through without pooling; every block of a dilated stage takes the stage's dilation; the
    /// v1b shortcut does not pool there.
    /// </summary>
    MMDetection,

    /// <summary>
    /// The Res2Net authors' detectron2 port with its default STRIDE_IN_1X1: a stage strides in its first block's 1x1
    /// conv1 (the 3x3 convolutions do not stride) and no block pools its last group; a dilated stage takes the
    /// dilation in every block and its shortcut does not pool.
    /// </summary>
    Detectron2,
}
