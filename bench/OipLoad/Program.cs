// Concurrent Open Inference Protocol clients, each sending one photo per request (the BYTES input, decoded on the
// server) and waiting for its answer: OipLoad ADDRESS MODEL PHOTO CLIENTS REQUESTS. Prints one JSON line: images/s,
// p50 and p99 latency in ms, errors. ADDRESS is http://... (REST, binary extension) or grpc://... (gRPC).
using System.Diagnostics;
using System.Text.Json;
using Res2Net.Client;

var address = new Uri(args[0]);
var (model, photo) = (args[1], await File.ReadAllBytesAsync(args[2]));
var (clients, requests) = (int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
var options = new InferenceClientOptions { MaxRetries = 0 };
using var client = address.Scheme is "grpc" ? InferenceClient.ForGrpc(address, options) : InferenceClient.ForRest(address, options);
var request = new InferenceRequest
{
    Model = model,
    Inputs = [InferTensor.FromBytes("image", [photo])],
    Outputs = [new RequestedOutput("logits") { Classification = 5 }],
};
await client.InferAsync(request);
var latencies = new List<double>(requests);
var errors = 0;
var next = 0;
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
{
    while (Interlocked.Increment(ref next) <= requests)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await client.InferAsync(request);
            lock (latencies)
            {
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (InferenceServerException)
        {
            Interlocked.Increment(ref errors);
        }
    }
}));
var seconds = clock.Elapsed.TotalSeconds;
latencies.Sort();
double Percentile(double p) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))];
Console.WriteLine(JsonSerializer.Serialize(new
{
    transport = address.Scheme,
    clients,
    requests,
    images_per_second = Math.Round(latencies.Count / seconds, 2),
    p50_ms = Math.Round(Percentile(0.5), 1),
    p99_ms = Math.Round(Percentile(0.99), 1),
    errors,
}));
