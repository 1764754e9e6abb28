using System.Buffers;
using System.Runtime.CompilerServices;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Xunit;

namespace Esp.Tests.Grpc.Http2;

/// <summary>Shared steps of the HTTP/2 client tests: starting streams, reading responses, bounded waits.</summary>
internal static class Http2ClientTesting
{
    public const string DefaultPath = "/test.Service/Method";

    public static readonly (string Name, string Value, HpackIndexing Indexing)[] GrpcHeaders =
    [
        ("content-type", "application/grpc", HpackIndexing.Index),
        ("te", "trailers", HpackIndexing.Index),
    ];

    /// <summary>Starts a stream through the pool with the given regular headers (gRPC's by default), sending its HEADERS at once.</summary>
    public static Task<Http2ClientStream> StartAsync(this Http2ConnectionPool pool, bool endStream = false,
        (string Name, string Value, HpackIndexing Indexing)[]? headers = null, string path = DefaultPath) =>
        pool.StartStreamAsync(path, headers ?? GrpcHeaders, static (writer, fields) =>
        {
            foreach (var (name, value, indexing) in fields)
                writer.Write(name, value, indexing);
        }, endStream, send: true, CancellationToken.None).AsTask().Within();

    /// <summary>Starts a stream on a cold pool, runs the handshake with <paramref name="settings"/>, and reads the stream's HEADERS.</summary>
    public static async Task<(ScriptedConnection Connection, Http2ClientStream Stream)> OpenAsync(ScriptedHttp2Server server, Http2ConnectionPool pool, bool endStream,
        params (ushort Id, uint Value)[] settings)
    {
        var stream = await pool.StartAsync(endStream: endStream);
        var connection = await server.AcceptAndHandshakeAsync(settings);
        var headers = await connection.NextHeadersAsync(stream.Id);
        Assert.Equal(endStream, headers.EndStream);
        return (connection, stream);
    }

    /// <summary>Bounds a wait at <see cref="ScriptedHttp2Server.Timeout"/>; a timeout names the caller's line.</summary>
    public static async Task Within(this Task task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        try
        {
            await task.WaitAsync(ScriptedHttp2Server.Timeout);
        }
        catch (TimeoutException ex) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Timed out after {ScriptedHttp2Server.Timeout.TotalSeconds} s at {System.IO.Path.GetFileName(file)}:{line}.", ex);
        }
    }

    public static async Task<T> Within<T>(this Task<T> task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        try
        {
            return await task.WaitAsync(ScriptedHttp2Server.Timeout);
        }
        catch (TimeoutException ex) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Timed out after {ScriptedHttp2Server.Timeout.TotalSeconds} s at {System.IO.Path.GetFileName(file)}:{line}.", ex);
        }
    }

    public static Task Within(this ValueTask task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) => task.AsTask().Within(file, line);

    /// <summary>Reads the rest of the body (waiting as needed) until it ends; the trailers are then on the stream.</summary>
    public static async Task<byte[]> ReadBodyAsync(this Http2ClientStream stream, int chunk = 8192)
    {
        var body = new MemoryStream();
        var buffer = new byte[chunk];
        while (true)
        {
            await stream.WaitForBodyAsync().Within();
            if (!stream.TryReadBody(buffer, out var read))
                continue;
            if (read == 0)
                return body.ToArray();
            body.Write(buffer, 0, read);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> body bytes.</summary>
    public static async Task<byte[]> ReadBodyExactlyAsync(this Http2ClientStream stream, int count)
    {
        var body = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            await stream.WaitForBodyAsync().Within();
            if (!stream.TryReadBody(body.AsSpan(filled), out var read))
                continue;
            if (read == 0)
                throw new InvalidOperationException($"The body ended after {filled} of {count} bytes.");
            filled += read;
        }
        return body;
    }

    /// <summary>The whole response: headers, body, trailers.</summary>
    public static async Task<byte[]> ReadResponseAsync(this Http2ClientStream stream)
    {
        await stream.WaitForResponseAsync().Within();
        return await stream.ReadBodyAsync();
    }

    public static ReadOnlySequence<byte> Sequence(byte[] bytes) => new(bytes);

    public static byte[] Pattern(int length, int seed = 0)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
            bytes[i] = (byte)((i + seed) % 251);
        return bytes;
    }

    /// <summary>Waits for <paramref name="task"/> to fail with <typeparamref name="T"/> exactly (bounded).</summary>
    public static async Task<T> FailsWith<T>(this Task task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        where T : Exception
    {
        try
        {
            await task.Within(file, line);
        }
        catch (T ex) when (ex.GetType() == typeof(T))
        {
            return ex;
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"Expected {typeof(T).Name} at {System.IO.Path.GetFileName(file)}:{line}, got {ex.GetType().Name}: {ex.Message}");
        }
        throw new Xunit.Sdk.XunitException($"Expected {typeof(T).Name} at {System.IO.Path.GetFileName(file)}:{line}, but it succeeded.");
    }

    public static Task<T> FailsWith<T>(this ValueTask task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        where T : Exception => task.AsTask().FailsWith<T>(file, line);
}
