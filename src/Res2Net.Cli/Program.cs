using Res2Net.Models;
using TorchSharp;
var sw = System.Diagnostics.Stopwatch.StartNew();
var cfgs = new (string, ModelConfig)[] {
 ("r50", new Res2NetConfig()),
 ("48w2s", new Res2NetConfig{BaseWidth=48, Scale=2}),
 ("14w8s", new Res2NetConfig{BaseWidth=14, Scale=8}),
 ("26w6s", new Res2NetConfig{Scale=6}),
 ("26w8s", new Res2NetConfig{Scale=8}),
 ("r101", new Res2NetConfig{Layers=[3,4,23,3]}),
 ("next50", new Res2NetConfig{BaseWidth=4, Cardinality=8}),
 ("v1b50", new Res2NetConfig{Stem=StemType.Deep, AvgDown=true}),
 ("v1b101", new Res2NetConfig{Layers=[3,4,23,3], Stem=StemType.Deep, AvgDown=true}),
 ("v1b152", new Res2NetConfig{Layers=[3,8,36,3], Stem=StemType.Deep, AvgDown=true}),
 ("dla60", new DlaConfig()),
 ("xdla60", new DlaConfig{Block=DlaBlock.Res2NeXt, Cardinality=8}),
};
foreach (var (n, c) in cfgs) {
  using var m = c.Build();
  Console.WriteLine($"{n} {m.ParameterCount()} keys={m.state_dict().Count} {sw.ElapsedMilliseconds}ms");
}
using var mm = new DlaConfig().Build();
foreach (var k in mm.state_dict().Keys.Take(40)) Console.WriteLine(k);
