using System.Reflection;
using Res2Net.AspNetCore;
using Res2Net.Engines;
using Res2Net.Models;
using Xunit;

namespace Res2Net.Tests;

/// <summary>The deliberate public surface: one door for inference, one for building a model, no third-party protobuf types.</summary>
public class PublicApiTests
{
    private static readonly Assembly[] Libraries =
        [typeof(Predictor).Assembly, typeof(Res2NetBackbone).Assembly, typeof(Res2NetModels).Assembly, typeof(Res2Net.Client.InferenceClient).Assembly];

    private static IEnumerable<MethodBase> PublicMembers() => Libraries.SelectMany(a => a.GetExportedTypes())
        .SelectMany(t => t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .SelectMany(m => m switch
        {
            MethodBase method => [method],
            PropertyInfo p => p.GetAccessors().Cast<MethodBase>(),
            _ => [],
        })
        .Where(m => m.IsPublic || m.IsFamily);

    [Fact]
    public void Only_the_door_hands_out_a_runnable_model_and_only_create_async_a_model_to_train()
    {
        static bool Returns(MethodBase m, Type type) => m is MethodInfo info
            && (info.ReturnType == type || (info.ReturnType.IsGenericType && info.ReturnType.GetGenericArguments().Contains(type)));

        var predictors = PublicMembers().Where(m => Returns(m, typeof(Predictor))).Select(m => $"{m.DeclaringType!.Name}.{m.Name}").Distinct();
        Assert.Equal(["Predictor.OpenAsync"], predictors);
        var models = PublicMembers().Where(m => m.IsStatic && Returns(m, typeof(Res2NetBackbone))).Select(m => $"{m.DeclaringType!.Name}.{m.Name}").Distinct();
        Assert.Equal(["Res2NetBackbone.CreateAsync"], models);
        // The engines and their interface are behind the door.
        Assert.All(new[] { typeof(IInferenceEngine), typeof(OnnxEngine), typeof(TorchEngine), typeof(Res2Net.Explain.GradCamExplainer) }, t => Assert.False(t.IsPublic, t.Name));
    }

    [Fact]
    public void No_public_signature_exposes_protobuf_or_onnx_types()
    {
        static IEnumerable<Type> Types(MethodBase m) => (m is MethodInfo info ? [info.ReturnType] : Array.Empty<Type>())
            .Concat(m.GetParameters().Select(p => p.ParameterType))
            .SelectMany(t => t.IsGenericType ? [t, .. t.GetGenericArguments()] : new[] { t });

        var leaks = PublicMembers().SelectMany(m => Types(m).Select(t => (Member: $"{m.DeclaringType!.FullName}.{m.Name}", Type: t)))
            .Where(p => p.Type.Namespace is "Onnx" or "Google.Protobuf" or "Res2Net.Protocol.Grpc" || p.Type.Assembly.GetName().Name is "OnnxSharp" or "Google.Protobuf" or "Grpc.Core.Api")
            .Select(p => $"{p.Member}: {p.Type}").Distinct().ToList();
        Assert.Empty(leaks);

        // The protocol's generated messages are internal in both the server and the client.
        Assert.All(Libraries, a => Assert.DoesNotContain(a.GetExportedTypes(), t => t.Namespace == "Res2Net.Protocol.Grpc"));
    }
}
