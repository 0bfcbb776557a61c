// An ASP.NET Core app serving an exported Res2Net model: ASPNETCORE_URLS=http://127.0.0.1:8080 dotnet run -- model.onnx
using Res2Net.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRes2Net().AddModel("default", o => o.Source = args.FirstOrDefault(a => a.EndsWith(".onnx", StringComparison.Ordinal)) ?? "model.onnx");
var app = builder.Build();
app.MapRes2Net();
app.Run();
