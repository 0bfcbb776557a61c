using Res2Net.Models;
using TorchSharp;
using static TorchSharp.torch;
Console.WriteLine(Res2Net.TorchRuntime.NnpackEnabled);
foreach (var info in ModelRegistry.All) {
  var sw = System.Diagnostics.Stopwatch.StartNew();
  using var m = info.Create();
  var p = ModelProfiler.Profile(m);
  Console.WriteLine($"{info.Name} params {p.Params} (official {info.Official.Params}) gmacs {p.GMacs:F3} (official {info.Official.GMacs}) {sw.ElapsedMilliseconds}ms");
  foreach (var part in p.Parts) Console.WriteLine($"   {part.Name} {part.Modules} [{string.Join(",", part.OutputShape)}] {part.Params} {part.Macs}");
}
