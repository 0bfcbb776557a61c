using System.Globalization;

namespace Res2Net.AspNetCore.Protocol;

/// <summary>Finds the models of a Triton model repository: one per folder with a <c>config.pbtxt</c>, at its highest version.</summary>
internal static class TritonRepositoryReader
{
    /// <summary>One model to serve.</summary>
    public sealed record Model(string Name, string Version, string ModelFile, int MaxBatchSize);

    /// <summary>The repository's models in name order; <see cref="Res2NetException"/> names the first unusable one.</summary>
    public static IReadOnlyList<Model> Read(string repository)
    {
        var root = new DirectoryInfo(repository);
        if (!root.Exists)
        {
            throw new Res2NetException($"{repository}: there is no model repository here (a folder of model folders, each with config.pbtxt).");
        }

        var models = new List<Model>();
        // Links to folders are not followed: the repository is what is inside it.
        foreach (var folder in root.EnumerateDirectories().Where(d => d.LinkTarget is null).OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var configPath = Path.Combine(folder.FullName, "config.pbtxt");
            if (!File.Exists(configPath))
            {
                continue;
            }

            if (models.Count == Limits.MaxRepositoryModels)
            {
                throw new Res2NetException($"{repository}: the repository holds more than {Limits.MaxRepositoryModels} models.");
            }

            var config = TritonModelConfig.Read(configPath);
            if (config.Name is { Length: > 0 } named && named != folder.Name)
            {
                throw new Res2NetException($"{configPath}: the configuration names the model '{named}', but its folder is '{folder.Name}' (Triton needs them equal).");
            }

            var platform = config.Platform ?? (config.Backend is "onnxruntime" ? "onnxruntime_onnx" : config.Backend);
            if (platform is not null && platform != "onnxruntime_onnx")
            {
                throw new Res2NetException($"{configPath}: the model is for '{platform}'; this server runs ONNX models only (platform \"onnxruntime_onnx\").");
            }

            var file = config.DefaultModelFilename ?? "model.onnx";
            if (file.Contains('/', StringComparison.Ordinal) || file.Contains('\\', StringComparison.Ordinal) || file is "." or "..")
            {
                throw new Res2NetException($"{configPath}: default_model_filename must be a file name, not a path (got '{file}').");
            }

            var version = folder.EnumerateDirectories()
                .Where(d => d.LinkTarget is null && d.Name.Length <= 18 && d.Name.All(char.IsAsciiDigit) && File.Exists(Path.Combine(d.FullName, file)))
                .Select(d => (Number: long.Parse(d.Name, CultureInfo.InvariantCulture), Folder: d))
                .OrderByDescending(v => v.Number)
                .FirstOrDefault();
            if (version.Folder is null)
            {
                throw new Res2NetException($"{folder.FullName}: the model has no version folder holding {file} (Triton's layout: {folder.Name}/1/{file}).");
            }

            models.Add(new Model(folder.Name, version.Number.ToString(CultureInfo.InvariantCulture), Path.Combine(version.Folder.FullName, file), config.MaxBatchSize));
        }

        return models.Count > 0 ? models : throw new Res2NetException($"{repository}: the folder holds no model (no subfolder has a config.pbtxt).");
    }
}
