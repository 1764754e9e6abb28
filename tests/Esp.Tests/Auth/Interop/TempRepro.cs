using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Grpc.Server;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Xunit;

namespace Esp.Tests.Auth.Interop;

public sealed class TempRepro(AuthInteropFixture fixture) : IClassFixture<AuthInteropFixture>
{
    [Theory]
    [InlineData("proxy", true)]
    [InlineData("proxy", false)]
    [InlineData("direct", true)]
    [InlineData("direct", false)]
    public async Task CSharpLoop(string where, bool sharedChannel)
    {
        await using var host = await TestGrpcHost.StartAsync([GrpcServiceDefinition.CreateBuilder(InteropReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Echo"))
            .AddClientStreaming<EchoRequest, EchoResponse>("ClientStream", (r, c) => throw new RpcException(new Status(StatusCode.Unauthenticated, "nope"))).Build()]);
        var address = where == "proxy" ? fixture.Default.Address : host.Address;
        var counts = new Dictionary<string, int>();
        using var shared = GrpcChannel.ForAddress(address);
        for (var i = 0; i < 300; i++)
        {
            using var own = sharedChannel ? null : GrpcChannel.ForAddress(address);
            var channel = own ?? shared;
            var options = new CallOptions { Timeout = TimeSpan.FromSeconds(2) };
            using var call = channel.ClientStreamingCall(EchoClientCases.ClientStream, options);
            string status;
            try { await call.ResponseAsync.DefaultTimeout(); status = "OK"; } catch (RpcException e) { status = e.StatusCode + " " + e.Status.Detail; }
            counts[status] = counts.GetValueOrDefault(status) + 1;
        }
        Assert.Fail(string.Join(", ", counts.Select(kv => $"{kv.Key}={kv.Value}")));
    }
}
