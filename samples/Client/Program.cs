// Classifies photos on any Open Inference Protocol server (res2net serve, the Service sample, Triton, KServe), one JSON
// line per photo: dotnet run -- http://127.0.0.1:8080 MODEL photo.jpg ...   (grpc://127.0.0.1:8081 for gRPC)
using System.Text.Json;
using Res2Net.Client;

var address = new Uri(args[0]);
using var client = address.Scheme is "grpc" or "grpcs" ? InferenceClient.ForGrpc(address) : InferenceClient.ForRest(address);
foreach (var photo in args.Skip(2))
{
    var top = await client.ClassifyAsync(args[1], await File.ReadAllBytesAsync(photo), topk: 5);
    Console.WriteLine(JsonSerializer.Serialize(new { path = photo, top = top.Select(s => new { @class = s.Index, label = s.Label, score = s.Score }) }));
}
