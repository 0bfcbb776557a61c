// An ASP.NET Core app serving Res2Net models: the Open Inference Protocol over REST (/v2) and gRPC, and /v1. Everything
// comes from configuration, so a container sets it with environment variables:
//   Res2Net__Models__NAME__Source=/models/model.onnx   one model (or several), or Res2Net__Repository=/models (Triton's layout)
//   Kestrel__Endpoints__Http__Url=http://0.0.0.0:8080
//   Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:8081 and Kestrel__Endpoints__Grpc__Protocols=Http2
// SIGTERM stops taking requests and finishes those in flight; /v2/health/live and /v2/health/ready are the probes.
using Res2Net.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRes2Net(builder.Configuration.GetSection("Res2Net"));
var app = builder.Build();
app.MapRes2Net();
app.MapRes2NetGrpc();
app.Run();
