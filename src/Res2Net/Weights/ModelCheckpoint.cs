using Res2Net.Models;

namespace Res2Net.Weights;

/// <summary>
/// A checkpoint read and understood: which registered model its tensors are for, with how many classes and input
/// channels, and what the weights are for (<see cref="ModelMetadata"/>, as the file records it or, for files from
/// elsewhere such as the official .pth files, as inferred from its shapes and a <c>classes.txt</c> beside it). The
/// one way every engine, command and the trainer open a checkpoint: shapes are checked against the registered model
/// before any model is built, so a file cannot make the library allocate what its own data does not hold.
/// </summary>
public sealed class ModelCheckpoint
{
    private ModelCheckpoint(string path, ModelInfo model, ModelMetadata metadata, bool recorded, IReadOnlyDictionary<string, TensorData> stateDict,
        CheckpointLayout layout)
    {
        Layout = layout;
        Style = layout switch
        {
            CheckpointLayout.MMDetection => BlockStyle.MMDetection,
            CheckpointLayout.Detectron2 => BlockStyle.Detectron2,
            _ => BlockStyle.Official,
        };
        Path = path;
        Model = model;
        Metadata = metadata;
        MetadataRecorded = recorded;
        StateDict = stateDict;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The registered model the tensors are for.</summary>
    public ModelInfo Model { get; }

    /// <summary>What the weights are for: classes and their names, input channels, preprocessing.</summary>
    public ModelMetadata Metadata { get; }

    /// <summary>Whether the file recorded <see cref="Metadata"/> (written by this library) rather than it being inferred.</summary>
    public bool MetadataRecorded { get; }

    /// <summary>The tensors, under the official keys (whatever layout the file used).</summary>
    public IReadOnlyDictionary<string, TensorData> StateDict { get; }

    /// <summary>The key layout the file was saved in (official, mmdetection's, detectron2's).</summary>
    public CheckpointLayout Layout { get; }

    /// <summary>
    /// The blocks <see cref="CreateModel"/> builds: by default those the weights were trained with (mmdetection's and
    /// detectron2's checkpoints come from their own forms of the block, see <see cref="BlockStyle"/>; everything else
    /// from the official one).
    /// </summary>
    public BlockStyle Style { get; private init; }

    /// <summary>The output stride <see cref="CreateModel"/> builds with: by default the one the metadata records (32 for the ImageNet models).</summary>
    public int OutputStride => Metadata.OutputStride;

    /// <summary>The same checkpoint, built with another output stride (8, 16 or 32, ImageNet ResNet-style models) or block style.</summary>
    public ModelCheckpoint With(int? outputStride = null, BlockStyle? style = null)
    {
        // Checked now, so that an impossible stride or style fails before anything is built.
        Model.Configure(Metadata.NumClasses, Metadata.InChannels, outputStride, style ?? Style);

        return new ModelCheckpoint(Path, Model, Metadata with { OutputStride = outputStride ?? OutputStride }, MetadataRecorded, StateDict, Layout)
        {
            Style = style ?? Style,
        };
    }

    /// <summary>
    /// Reads a checkpoint (zip or legacy .pth, or .safetensors). <paramref name="modelName"/> names the registered model
    /// the caller expects (any alias); null takes the model the file records, else the one its shapes fit.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file cannot be read.</exception>
    /// <exception cref="WeightsMismatchException">The tensors do not fit the model (named, recorded or any).</exception>
    /// <exception cref="UnknownModelException"><paramref name="modelName"/> is not registered.</exception>
    public static ModelCheckpoint Read(string path, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = System.IO.Path.GetFileName(path);
        var (layout, tensors) = CheckpointLayouts.ToOfficial(CheckpointFile.ReadStateDict(path, out var json), name);
        var recorded = json is null ? null : ModelMetadata.FromJson(json, name);
        var info = Resolve(name, tensors, recorded, modelName);

        int classes, channels;
        if (recorded is not null)
        {
            (classes, channels) = (recorded.NumClasses, recorded.InChannels);
        }
        else
        {
            var inferred = tensors.TryGetValue(ModelWeights.ClassifierKeys(info)[0], out var w) && w.Shape.Length > 0 ? w.Shape[0] : 0;
            if (inferred > ModelMetadata.MaxClasses)
            {
                throw new WeightsMismatchException($"{name}: its classifier has {inferred:N0} classes, more than the {ModelMetadata.MaxClasses:N0} a model may have.");
            }

            classes = (int)inferred;
            var stem = ModelWeights.StemChannels(info, tensors) ?? info.Config.InChannels;
            if (stem is < 1 or > ModelWeights.MaxInChannels)
            {
                throw new WeightsMismatchException($"{name}: its stem takes {stem} input channels; a model takes 1 to {ModelWeights.MaxInChannels}.");
            }

            channels = stem;
        }

        // Every key and shape against the model's signature, before anything is allocated.
        ModelWeights.Check(ModelWeights.Shapes(info, classes, channels), ModelWeights.ClassifierKeys(info), tensors, LoadOptions.Default, () => info.Name, classes, name);

        var metadata = recorded is not null
            ? recorded with { Model = info.Name }
            : info.DefaultMetadata(classes, channels);
        if (metadata.ClassNames.Count == 0 && classes > 0)
        {
            // Not recorded (a file from elsewhere, or saved without names): a classes.txt beside the file may have them.
            metadata = metadata with { ClassNames = ImageNetLabels.For(classes, path) };
        }
        return new ModelCheckpoint(path, info, metadata, recorded is not null, tensors, layout);
    }

    /// <summary>
    /// Builds the model (with <see cref="OutputStride"/> and <see cref="Style"/>) and loads the weights, strictly unless
    /// <paramref name="options"/> says otherwise, with the metadata.
    /// </summary>
    public Res2NetBackbone CreateModel(LoadOptions? options = null)
    {
        var model = Model.Create(Metadata.NumClasses, Metadata.InChannels, OutputStride, Style);
        try
        {
            ModelWeights.Load(model, StateDict, System.IO.Path.GetFileName(Path), options);
            ModelWeights.Describe(model, Metadata);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static ModelInfo Resolve(string name, IReadOnlyDictionary<string, TensorData> tensors, ModelMetadata? recorded, string? modelName)
    {
        if (modelName is not null)
        {
            var asked = ModelRegistry.Get(modelName);
            if (recorded is not null && ModelRegistry.TryGet(recorded.Model, out var saved) && saved.Name != asked.Name)
            {
                throw new WeightsMismatchException($"{name} holds weights of {saved.Name}, not {asked.Name}.");
            }

            return asked;
        }

        if (recorded is not null)
        {
            return ModelRegistry.TryGet(recorded.Model, out var saved) ? saved
                : throw new WeightsMismatchException($"{name} records model '{recorded.Model}', which is not registered here.");
        }

        var fits = ModelWeights.FindMatchingModels(tensors);
        return fits.Count > 0 ? fits[0].Model
            : throw new WeightsMismatchException($"{name}: its tensors fit no registered model; name the model it is for.");
    }
}
