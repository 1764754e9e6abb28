using Esp.Grpc;
using Esp.Interop;
using Esp.Tests.Auth.Interop;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;

namespace Esp.Tests.ApiKeys.Interop;

/// <summary>ESP's default places for an API key, in the order it looks: query <c>key</c>, query <c>api_key</c>, header <c>x-api-key</c>.</summary>
internal static class KeyLocations
{
    public const string QueryKey = "query key";
    public const string QueryApiKey = "query api_key";
    public const string Header = "header x-api-key";

    public static readonly string[] All = [Header, QueryKey, QueryApiKey];

    /// <summary>The query parameter of a query location; null for the header.</summary>
    public static string? QueryName(string location) => location switch
    {
        QueryKey => "key",
        QueryApiKey => "api_key",
        Header => null,
        _ => throw new ArgumentOutOfRangeException(nameof(location), location, null),
    };
}

/// <summary>An API key as a client sends it: <paramref name="Key"/> (possibly empty) at <paramref name="Location"/>.</summary>
internal sealed record SentKey(string Location, string Key);

/// <summary>A call's <c>x-call-id</c> (to find it in the backend's record) and how it ended for the client.</summary>
internal sealed record KeyedCallResult(string CallId, CallReport Report);

/// <summary>
/// One Unary call to the Echo service with API keys in the places ESP reads, by Python grpcio and
/// @grpc/grpc-js (tests/peers/interop_client.* <c>--case report</c>, keys by <c>--metadata x-api-key=K</c>
/// and <c>--query key=K</c>) or by our client (a query goes into the method's <c>:path</c>). Every call
/// carries a fresh <c>x-call-id</c>.
/// </summary>
internal static class ApiKeyCalls
{
    public static async Task<KeyedCallResult> UnaryAsync(string client, TestProxy proxy, IReadOnlyList<SentKey> keys, params (string Key, string Value)[] metadata)
    {
        var callId = Guid.NewGuid().ToString("N");
        (string Key, string Value)[] withId = [(RecordingEchoBackend.CallIdHeader, callId), .. metadata];
        var report = client == AuthCalls.CSharp
            ? await OurUnaryAsync(proxy.Address, keys, withId).DefaultTimeout()
            : await PeerReportAsync(client, proxy.Target, keys, withId).DefaultTimeout();
        return new KeyedCallResult(callId, report);
    }

    /// <summary>Runs a peer's own interop case (e.g. <c>server_stream</c>) with the keys and metadata on every call.</summary>
    public static Task<(int ExitCode, string Output)> PeerCaseAsync(string client, string caseName, string target, IReadOnlyList<SentKey> keys, params (string Key, string Value)[] metadata) =>
        AuthCalls.PeerCaseAsync(client, PeerArguments(caseName, target, keys, metadata));

    private static Task<CallReport> PeerReportAsync(string client, string target, IReadOnlyList<SentKey> keys, (string Key, string Value)[] metadata) =>
        AuthCalls.PeerReportAsync(client, PeerArguments("report", target, keys, metadata));

    private static List<string> PeerArguments(string caseName, string target, IReadOnlyList<SentKey> keys, (string Key, string Value)[] metadata)
    {
        List<string> arguments = ["--target", target, "--case", caseName];
        foreach (var (key, value) in metadata)
            arguments.AddRange(["--metadata", $"{key}={value}"]);
        foreach (var sent in keys)
        {
            arguments.AddRange(KeyLocations.QueryName(sent.Location) is { } name
                ? ["--query", $"{name}={sent.Key}"]
                : ["--metadata", $"x-api-key={sent.Key}"]);
        }
        return arguments;
    }

    private static async Task<CallReport> OurUnaryAsync(Uri address, IReadOnlyList<SentKey> keys, (string Key, string Value)[] metadata)
    {
        var headers = new Metadata();
        foreach (var (key, value) in metadata)
            headers.Add(key, value);
        var query = new List<string>();
        foreach (var sent in keys)
        {
            if (KeyLocations.QueryName(sent.Location) is { } name)
                query.Add(name + "=" + Uri.EscapeDataString(sent.Key));
            else
                headers.Add("x-api-key", sent.Key);
        }
        // Our client sends a method's full name as the :path, so the query rides on the method's name.
        var method = query.Count == 0
            ? EchoClientCases.Unary
            : new Method<EchoRequest, EchoResponse>(MethodType.Unary, EchoClientCases.Unary.ServiceName, EchoClientCases.Unary.Name + "?" + string.Join('&', query));

        return await AuthCalls.OurUnaryAsync(address, method, headers);
    }
}
