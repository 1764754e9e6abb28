using Esp.ApiKeys;
using Esp.Tests.Auth.Interop;
using Xunit;

namespace Esp.Tests.ApiKeys.Interop;

/// <summary>
/// Which client sends its key where. Our client runs every case in every place (header
/// <c>x-api-key</c>, query <c>key</c>, query <c>api_key</c>); a peer costs a process per call, so it
/// takes a valid key to every place and each refusal to one place, the places rotating over the
/// cases so that each peer meets each refusal status and each place several times.
/// </summary>
internal static class KeyCases
{
    public static TheoryData<string, string> Everywhere()
    {
        var data = new TheoryData<string, string>();
        foreach (var client in AuthCalls.Senders)
        {
            foreach (var location in KeyLocations.All)
                data.Add(client, location);
        }
        return data;
    }

    public static TheoryData<string, string> OursEverywhere(string python, string node)
    {
        var data = new TheoryData<string, string>();
        foreach (var location in KeyLocations.All)
            data.Add(AuthCalls.CSharp, location);
        data.Add(AuthCalls.Python, python);
        data.Add(AuthCalls.Node, node);
        return data;
    }
}

/// <summary>What the backend must and must not hear of a call, and what the client must see.</summary>
internal static class KeyedCallAssert
{
    public const string ConsumerType = "x-endpoint-api-consumer-type";
    public const string ConsumerNumber = "x-endpoint-api-consumer-number";
    public const string ConsumerName = "x-endpoint-api-consumer-name";

    /// <summary>The call went through to Unary, and the backend heard of the key's consumer, once, from the proxy.</summary>
    public static BackendCall Forwarded(RecordingEchoBackend backend, KeyedCallResult call, ApiKeyRecord key)
    {
        Assert.True(call.Report.Code == "OK", call.Report.ToString());
        var received = backend.Find(call.CallId);
        Assert.NotNull(received);
        // Only the method's path goes on: a key in the query stays at the proxy (and a grpcio
        // backend would answer a :path with a query UNIMPLEMENTED).
        Assert.Equal("/esp.interop.Echo/Unary", received.Path);
        Assert.Equal("", received.Query);
        Assert.Equal(["SERVICE_SPECIFIC"], received.Values(ConsumerType));
        Assert.Equal([key.ConsumerNumber], received.Values(ConsumerNumber));
        Assert.Equal([key.Consumer], received.Values(ConsumerName));
        // What the backend heard reached the client too (the backend echoes x- metadata).
        Assert.Equal([key.Consumer], call.Report.Headers.GetValueOrDefault(ConsumerName) ?? []);
        return received;
    }

    /// <summary>The proxy answered with exactly this status and message, and the backend never saw the call.</summary>
    public static void Refused(RecordingEchoBackend backend, KeyedCallResult call, string code, string message)
    {
        Assert.Equal(code, call.Report.Code);
        Assert.Equal(message, call.Report.Details);
        Assert.Null(backend.Find(call.CallId));
        Assert.Empty(call.Report.Headers);
        Assert.Empty(call.Report.Trailers);
    }
}
