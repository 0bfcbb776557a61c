// Classifies photos with an ONNX file written by `res2net export`, using only the Res2Net.Runtime package:
//   ClassifyOnnx MODEL.onnx PHOTO_OR_FOLDER...
// Prints one JSON line per photo, as `res2net classify --format json` does: {"input", "index", "top": [{"class", "label", "prob"}]}.
using System.Text.Json;
using Res2Net;
using Res2Net.Engines;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ClassifyOnnx MODEL.onnx PHOTO_OR_FOLDER...");
    return 2;
}

try
{
    using var predictor = await Predictor.OpenAsync(ModelSource.Onnx(args[0]));
    var failed = 0;
    await foreach (var r in predictor.PredictManyAsync(args[1..], topk: 5))
    {
        if (!r.Ok)
        {
            Console.Error.WriteLine(r.Error);
            failed++;
            continue;
        }

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            input = r.Item.Path,
            index = r.Item.Index,
            top = r.Value!.Top.Select(s => new { @class = s.Class, label = s.Label, prob = s.Prob }),
        }));
    }

    return failed == 0 ? 0 : 1;
}
catch (Res2NetException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
