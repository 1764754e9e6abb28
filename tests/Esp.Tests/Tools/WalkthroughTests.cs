using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Esp.Tools;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Tools;

/// <summary>
/// The seeds' "authentication between services" on loopback: a consumer key (<c>esp keys create</c>),
/// Google's key publication (<c>esp keys serve</c>), a token (<c>esp token</c>) and the proxy checking it.
/// </summary>
public sealed class WalkthroughTests : IAsyncLifetime
{
    private const string Service = "echo.endpoints.producer-proj.cloud.goog";

    private readonly KeyFiles _files = new();
    private readonly EchoService _echo = new();
    private TestGrpcHost _backend = null!;
    private KeyServer _keys = null!;
    private TestProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestGrpcHost.StartAsync([_echo.CreateDefinition()]).DefaultTimeout();
        // The consumer's key exists before the proxy starts (and fetches keys), as in the seeds.
        _files.Create("consumer.json").Dispose();
        _keys = await TestKeyServer.StartAsync(_files.Directory, new CapturedLog());
        // api_config_auth.yaml of the seeds: the consumer's service account as issuer, Google's x509 URL as jwks_uri.
        _proxy = await TestProxy.StartAsync($"""
            type: google.api.Service
            config_version: 3
            name: {Service}
            apis:
            - name: esp.interop.Echo
            authentication:
              providers:
              - id: google_service_account
                issuer: {KeyFiles.Email}
                jwks_uri: {_keys.X509Url(KeyFiles.Email)}
              rules:
              - selector: "*"
                requirements:
                - provider_id: google_service_account
            usage:
              rules:
              - selector: "*"
                allow_unregistered_calls: true
            """, ProtocDescriptors.Interop, $"grpc://127.0.0.1:{_backend.Port}");
    }

    [Fact]
    public async Task Walkthrough_TokenFromEspTokenKeysFromKeyServer_CallAccepted()
    {
        var token = await TokenAsync(KeyFiles.Email);

        var status = await CallAsync(token);

        Assert.Equal(StatusCode.OK, status);
    }

    [Fact]
    public async Task Walkthrough_WrongServiceAccountAsIssuer_Refused()
    {
        var token = await TokenAsync("wrong-account@consumer-proj.iam.gserviceaccount.com");

        Assert.Equal(StatusCode.Unauthenticated, await CallAsync(token));
        Assert.Equal(StatusCode.Unauthenticated, await CallAsync(null));
    }

    private async Task<string> TokenAsync(string issuer)
    {
        var (exitCode, output, errors) = await ToolCommands.RunAsync(TokenCommand.Create(), "token",
            $"--file={_files.PathOf("consumer.json")}", $"--issuer={issuer}", $"--audiences={Service}");
        Assert.True(exitCode == 0, errors);
        return output.Trim();
    }

    private async Task<StatusCode> CallAsync(string? token)
    {
        using var channel = GrpcChannel.ForAddress(_proxy.Address);
        var headers = new Metadata();
        if (token is not null)
            headers.Add("authorization", "Bearer " + token);
        using var call = channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("walkthrough") },
            new CallOptions { Timeout = TimeSpan.FromSeconds(10), Headers = headers });
        try
        {
            var response = await call.ResponseAsync.DefaultTimeout();
            Assert.Equal("walkthrough", response.Payload.ToStringUtf8());
            return StatusCode.OK;
        }
        catch (RpcException error)
        {
            return error.StatusCode;
        }
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _keys.DisposeAsync();
        await _backend.DisposeAsync();
        _files.Dispose();
    }
}
