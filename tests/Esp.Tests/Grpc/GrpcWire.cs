using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Esp.Grpc;
using Esp.Grpc.Protocol;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Esp.Tests.Grpc;

/// <summary>Hand-built gRPC wire bytes and raw HTTP/2 requests, for tests that must see (or send) exactly what is on the wire.</summary>
internal static class GrpcWire
{
    public const string UnaryPath = "/esp.interop.Echo/Unary";

    public static ServiceDescriptor EchoDescriptor { get; } = InteropReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Echo");

    public static Method<EchoRequest, EchoResponse> UnaryMethod { get; } =
        Methods.FromDescriptor<EchoRequest, EchoResponse>(EchoDescriptor.FindMethodByName("Unary"));

    public static Method<EchoRequest, EchoResponse> ServerStreamMethod { get; } =
        Methods.FromDescriptor<EchoRequest, EchoResponse>(EchoDescriptor.FindMethodByName("ServerStream"));

    /// <summary>A length-prefixed message: flag, big-endian length, body.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> body, byte flag = 0) => Header(flag, (uint)body.Length, body);

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    /// <summary>A frame header claiming <paramref name="length"/> bytes, followed by whatever body is given (possibly fewer bytes).</summary>
    public static byte[] Header(byte flag, uint length, ReadOnlySpan<byte> body = default)
    {
        var bytes = new byte[MessageFraming.HeaderSize + body.Length];
        bytes[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), length);
        body.CopyTo(bytes.AsSpan(MessageFraming.HeaderSize));
        return bytes;
    }

    public static byte[] Gzip(byte[] data) => MessageCompression.Compress(data);

    /// <summary>Splits a body into frames (flag, body); throws when the bytes do not divide into whole frames.</summary>
    public static List<(byte Flag, byte[] Body)> ParseFrames(byte[] bytes)
    {
        var frames = new List<(byte, byte[])>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 1));
            frames.Add((bytes[offset], bytes.AsSpan(offset + MessageFraming.HeaderSize, length).ToArray()));
            offset += MessageFraming.HeaderSize + length;
        }
        return frames;
    }

    public static HttpClient CreateHttpClient() => new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false });

    /// <summary>A POST as a gRPC client sends it: HTTP/2 only (h2c prior knowledge), te: trailers, application/grpc.</summary>
    public static HttpRequestMessage Post(Uri address, string path, HttpContent content, string contentType = GrpcProtocol.ContentType)
    {
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    public static HttpRequestMessage Post(Uri address, string path, byte[] body) => Post(address, path, new ByteArrayContent(body));

    /// <summary>Sends a request and reads the whole response, trailers included.</summary>
    public static async Task<RawResponse> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request).DefaultTimeout();
        var body = await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        return new RawResponse(
            (int)response.StatusCode,
            ToDictionary(response.Headers, response.Content.Headers),
            body,
            ToDictionary(response.TrailingHeaders));
    }

    private static Dictionary<string, string> ToDictionary(params HttpHeaders[] collections)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var headers in collections)
        {
            foreach (var header in headers.NonValidated)
                result[header.Key] = header.Value.ToString();
        }
        return result;
    }
}

/// <summary>A whole HTTP response: headers (content headers included), body and trailers.</summary>
internal sealed record RawResponse(int HttpStatus, Dictionary<string, string> Headers, byte[] Body, Dictionary<string, string> Trailers)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name);

    public string? Trailer(string name) => Trailers.GetValueOrDefault(name);
}

/// <summary>A request body written one byte per write, each flushed, so the server sees it in one-byte pieces.</summary>
internal sealed class TricklingContent(byte[] bytes) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            await stream.WriteAsync(bytes.AsMemory(i, 1), cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}

/// <summary>A request body that sends some bytes and then stays open until cancelled: the request never ends.</summary>
internal sealed class EndlessContent(byte[] prefix, CancellationToken release) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(prefix, cancellationToken);
        await stream.FlushAsync(cancellationToken);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, release);
        try
        {
            await Task.Delay(Timeout.Infinite, linked.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}

/// <summary>
/// Kestrel (HTTP/2 cleartext, 127.0.0.1, port 0) answering every request with a raw delegate: a
/// misbehaving "gRPC server" for client tests. No gRPC binding in front of it.
/// </summary>
internal sealed class RawHttp2Server : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private RawHttp2Server(WebApplication app) => _app = app;

    public Uri Address { get; private init; } = null!;

    public int Requests => Volatile.Read(ref _requests);

    public static async Task<RawHttp2Server> StartAsync(RequestDelegate handler)
    {
        RawHttp2Server? server = null;
        var (app, port) = await LoopbackKestrel.StartAsync(HttpProtocols.Http2, app => app.Run(context =>
        {
            Interlocked.Increment(ref server!._requests);
            return handler(context);
        }));
        server = new RawHttp2Server(app) { Address = new Uri($"http://127.0.0.1:{port}") };
        return server;
    }

    /// <summary>Starts a gRPC response: 200, application/grpc, headers sent.</summary>
    public static async Task StartGrpcResponseAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = GrpcProtocol.ContentType;
        await context.Response.StartAsync();
    }

    public static async Task WriteAsync(HttpContext context, byte[] bytes)
    {
        await context.Response.Body.WriteAsync(bytes);
        await context.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}

/// <summary>A sequence of one-byte segments: the worst case for code that reads across segment boundaries.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes)
    {
        if (bytes.Length == 0)
            return ReadOnlySequence<byte>.Empty;
        var first = new Segment(bytes.AsMemory(0, 1), 0);
        var last = first;
        for (var i = 1; i < bytes.Length; i++)
            last = last.Append(bytes.AsMemory(i, 1));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
