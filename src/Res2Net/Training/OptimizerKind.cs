namespace Res2Net.Training;

/// <summary>Which update rule the trainer uses.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with (Nesterov) momentum and L2 weight decay added to the gradient, as torch.optim.SGD.</summary>
    Sgd,

    /// <summary>Adam with decoupled weight decay, as torch.optim.AdamW.</summary>
    AdamW,
}
