using System.Text;
using System.Text.Json;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// How one Unary call to the Echo service ended, as a client saw it: the status (code in the
/// gRPC spec's spelling, e.g. <c>PERMISSION_DENIED</c>) and the <c>x-</c> metadata that came
/// back (the Echo backend echoes the <c>x-</c> request headers it received, in its response
/// headers and trailers).
/// </summary>
internal sealed record CallReport(string Code, string Details, IReadOnlyDictionary<string, string[]> Headers, IReadOnlyDictionary<string, string[]> Trailers)
{
    /// <summary>The values of <c>x-endpoint-api-userinfo</c> the backend received (echoed in its response headers).</summary>
    public string[] UserInfo => Headers.GetValueOrDefault("x-endpoint-api-userinfo") ?? [];

    public override string ToString() => $"{Code}: {Details} headers={JsonSerializer.Serialize(Headers)}";
}

/// <summary>The clients: Python grpcio and @grpc/grpc-js (tests/peers/interop_client.* <c>--case report</c>) and ours.</summary>
internal static class AuthCalls
{
    public const string Python = "python-grpcio";
    public const string Node = "grpc-js";
    public const string CSharp = "csharp";

    public static readonly string[] Senders = [Python, Node, CSharp];

    /// <summary>One Unary call by <paramref name="sender"/> with <c>authorization: Bearer token</c> (if any) and the extra metadata.</summary>
    public static Task<CallReport> UnaryAsync(string sender, TestProxy proxy, string? token, params (string Key, string Value)[] metadata) =>
        sender switch
        {
            Python or Node => PeerReportAsync(sender, PeerArguments("report", proxy.Target, token, metadata)),
            CSharp => OurUnaryAsync(proxy.Address, EchoClientCases.Unary, Headers(token, metadata)),
            _ => throw new ArgumentOutOfRangeException(nameof(sender), sender, null),
        };

    /// <summary>Runs a peer's interop case (e.g. <c>bidi</c>) with the token; its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> PeerCaseAsync(string sender, string caseName, TestProxy proxy, string? token, params (string Key, string Value)[] metadata) =>
        PeerCaseAsync(sender, PeerArguments(caseName, proxy.Target, token, metadata));

    /// <summary>Runs a peer (tests/peers/interop_client.*) with the given arguments; its exit code and output.</summary>
    internal static Task<(int ExitCode, string Output)> PeerCaseAsync(string sender, IReadOnlyList<string> arguments) =>
        PeerProcess.RunAsync(sender == Python ? RepositoryPaths.Python : "node",
            [Path.Combine(RepositoryPaths.Peers, sender == Python ? "interop_client.py" : "interop_client.js"), .. arguments]);

    public static Metadata Headers(string? token, params (string Key, string Value)[] metadata)
    {
        var headers = new Metadata();
        foreach (var (key, value) in metadata)
            headers.Add(key, value);
        if (token is not null)
            headers.Add("authorization", "Bearer " + token);
        return headers;
    }

    /// <summary>One Unary call by our client to <paramref name="method"/> (the Echo service's Unary, possibly with a query on its path).</summary>
    internal static async Task<CallReport> OurUnaryAsync(Uri address, Method<EchoRequest, EchoResponse> method, Metadata headers)
    {
        using var channel = GrpcChannel.ForAddress(address);
        var options = new CallOptions { Timeout = TimeSpan.FromSeconds(10), Headers = headers };
        using var call = channel.UnaryCall(method, new EchoRequest { Payload = ByteString.CopyFromUtf8("report") }, options);
        try
        {
            var response = await call.ResponseAsync.DefaultTimeout();
            if (response.Payload.ToStringUtf8() != "report")
                throw new InvalidOperationException("The echoed payload differs.");
            var responseHeaders = await call.ResponseHeadersAsync.DefaultTimeout();
            return new CallReport("OK", "", Echoed(responseHeaders), Echoed(call.GetTrailers()));
        }
        catch (RpcException error)
        {
            return new CallReport(SpecName(error.StatusCode), error.Status.Detail, new Dictionary<string, string[]>(), Echoed(error.Trailers));
        }
    }

    /// <summary>Runs a peer's <c>report</c> case with the given arguments and reads the call's end from its <c>RESULT</c> line.</summary>
    internal static async Task<CallReport> PeerReportAsync(string sender, IReadOnlyList<string> arguments)
    {
        var script = Path.Combine(RepositoryPaths.Peers, sender == Python ? "interop_client.py" : "interop_client.js");
        var (exitCode, output) = await PeerProcess.RunAsync(sender == Python ? RepositoryPaths.Python : "node", [script, .. arguments]);
        var line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (exitCode != 0 || line is null)
            throw new InvalidOperationException($"{script} {string.Join(' ', arguments)} failed ({exitCode}):\n{output}");
        using var json = JsonDocument.Parse(line["RESULT ".Length..]);
        var root = json.RootElement;
        return new CallReport(root.GetProperty("code").GetString()!, root.GetProperty("details").GetString()!,
            ReadMetadata(root.GetProperty("headers")), ReadMetadata(root.GetProperty("trailers")));
    }

    private static List<string> PeerArguments(string caseName, string target, string? token, (string Key, string Value)[] metadata)
    {
        List<string> arguments = ["--target", target, "--case", caseName];
        if (token is not null)
            arguments.AddRange(["--auth_token", token]);
        foreach (var (key, value) in metadata)
            arguments.AddRange(["--metadata", $"{key}={value}"]);
        return arguments;
    }

    private static Dictionary<string, string[]> ReadMetadata(JsonElement element) =>
        element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray(), StringComparer.Ordinal);

    private static Dictionary<string, string[]> Echoed(Metadata metadata) =>
        metadata.Where(e => e.Key.StartsWith("x-", StringComparison.Ordinal) && !e.IsBinary)
            .GroupBy(e => e.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Value).ToArray(), StringComparer.Ordinal);

    /// <summary><c>PermissionDenied</c> → <c>PERMISSION_DENIED</c>, as the gRPC spec, grpcio and grpc-js name codes.</summary>
    public static string SpecName(StatusCode code)
    {
        if (code == StatusCode.OK)
            return "OK";
        var name = code.ToString();
        var spec = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
                spec.Append('_');
            spec.Append(char.ToUpperInvariant(name[i]));
        }
        return spec.ToString();
    }
}
