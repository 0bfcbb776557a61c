using System.CommandLine;

namespace Res2Net.Cli;

/// <summary>Options several commands share, so they are spelled and described once.</summary>
internal static class Options
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show full .NET stack traces on errors.",
        Recursive = true,
    };

    public static Option<string> Model(bool required = true) => new("--model", "-m")
    {
        Description = "Registered model name or alias (see 'res2net models').",
        Required = required,
    };

    public static Option<string> Weights(bool required) => new("--weights", "-w")
    {
        Description = required
            ? "Checkpoint file: PyTorch .pth (zip or legacy) or .safetensors."
            : "Checkpoint file: PyTorch .pth (zip or legacy) or .safetensors; default: the model's published weights, downloaded once into $RES2NET_HOME (~/.cache/res2net).",
        Required = required,
    };

    public static Option<string> Format(params string[] allowed)
    {
        var option = new Option<string>("--format", "-f")
        {
            Description = $"Output format: {string.Join(" or ", allowed)}.",
            DefaultValueFactory = _ => allowed[0],
        };
        option.AcceptOnlyFromAmong(allowed);
        return option;
    }

    public static Option<int> BatchSize() => new("--batch-size", "-b")
    {
        Description = "Rows per forward pass.",
        DefaultValueFactory = _ => 16,
    };

    public static Argument<string[]> Inputs()
    {
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "Photos (JPEG, PNG, BMP, GIF, WebP), folders of photos (recursed, sorted) and .npy float32 NCHW batches (already normalised), mixed.",
            Arity = ArgumentArity.OneOrMore,
        };

        // An unknown flag is not taken for a file name (a file named like a flag is given as ./-name).
        inputs.Validators.Add(result =>
        {
            foreach (var token in result.Tokens.Where(t => t.Value.StartsWith('-') && !File.Exists(t.Value) && !Directory.Exists(t.Value)))
            {
                result.AddError($"Unrecognized option '{token.Value}'");
                return;
            }
        });
        return inputs;
    }

    public static Option<string> Engine()
    {
        var option = new Option<string>("--engine", "-e")
        {
            Description = "auto (the fastest exact engine: onnx for fp32 and int8, torch for bf16), torch (TorchSharp) or onnx (ONNX Runtime on an export made on first use and cached beside the weights, else in $RES2NET_HOME/onnx).",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "torch", "onnx");
        return option;
    }

    public static Option<string?> Precision()
    {
        var option = new Option<string?>("--precision")
        {
            Description = "fp32 (the default for weights), bf16 (bfloat16 on the torch engine, for CPUs with AVX-512 BF16 or AMX: faster, logits within about 1%), or int8 (an INT8 ONNX file's own). Default: the model's own.",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16", "int8");
        return option;
    }

    public static Option<int?> Size() => new("--size")
    {
        Description = "Network input side in pixels (default: the model's, 224).",
    };

    public static Option<double?> CropPct() => new("--crop-pct")
    {
        Description = "Fraction of the resized photo kept by the center crop (default: the model's, 0.875: resize 256, crop 224).",
    };

    public static Option<int?> OutputStride() => new("--output-stride")
    {
        Description = "8, 16 or 32: the total stride of the last stage; 16 and 8 dilate the later stages instead of striding them (dense prediction). Default: what the weights record, 32 for ImageNet weights.",
    };

    public static Option<string?> BlockStyle()
    {
        var option = new Option<string?>("--block-style")
        {
            Description = "official (timm's too), mmdetection or detectron2: whose form of the Res2Net block to build where they differ (dilated stages, the first block's pooling). Default: the one the checkpoint's key layout says it was trained with.",
        };
        option.AcceptOnlyFromAmong("official", "mmdetection", "detectron2");
        return option;
    }

    /// <summary>The style named by --block-style, or null for the checkpoint's own.</summary>
    public static Models.BlockStyle? ParseBlockStyle(string? name) => name switch
    {
        null => null,
        "mmdetection" => Models.BlockStyle.MMDetection,
        "detectron2" => Models.BlockStyle.Detectron2,
        _ => Models.BlockStyle.Official,
    };
}
