using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Esp.Grpc.Http2;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// An HTTP/2 client by script, for the server's tests (the mirror of <see cref="ScriptedHttp2Server"/>):
/// a socket connected to the server whose frames a <see cref="ScriptedConnection"/> reads and
/// decodes in the background (the server's header blocks with the project's HPACK decoder); the test
/// writes any frame through <see cref="Connection"/> (header blocks with its encoder, or raw bytes)
/// and takes the server's frames with the Expect helpers, which leave frames they do not match
/// (SETTINGS, WINDOW_UPDATE, other streams) for later calls.
/// </summary>
internal sealed class ScriptedHttp2Client : IAsyncDisposable
{
    public const string Authority = "example.test";

    public const string DefaultPath = "/pkg.Svc/Method";

    private ScriptedHttp2Client(Socket socket, int decoderTableSize)
    {
        Connection = new ScriptedConnection(socket, peerSendsPreface: false, decoderTableSize);
    }

    /// <summary>The frames both ways: <see cref="ScriptedConnection.NextAsync(Func{Http2Frame, bool}, string?)"/> and the write helpers.</summary>
    public ScriptedConnection Connection { get; }

    /// <summary>The server's first SETTINGS, once <see cref="HandshakeAsync"/> read it.</summary>
    public Http2Frame? ServerSettings { get; private set; }

    /// <param name="receiveBufferSize">A small socket receive buffer makes the server's sends back up sooner (tests that do not read).</param>
    /// <param name="decoderTableSize">The dynamic table size our decoder allows the server (send the same SETTINGS_HEADER_TABLE_SIZE).</param>
    public static async Task<ScriptedHttp2Client> ConnectAsync(IPEndPoint endpoint, int? receiveBufferSize = null, int decoderTableSize = 4096)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferSize is { } size)
                socket.ReceiveBufferSize = size;
            await socket.ConnectAsync(endpoint).WaitAsync(ScriptedHttp2Server.Timeout);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ScriptedHttp2Client(socket, decoderTableSize);
    }

    // --- Handshake.

    /// <summary>Writes the parts (frames, raw bytes) in one send.</summary>
    public Task WriteAsync(params byte[][] parts) => Connection.WriteRawAsync(parts.SelectMany(p => p).ToArray());

    public Task WritePrefaceAsync() => Connection.WriteRawAsync(Http2Protocol.ClientPreface.ToArray());

    /// <summary>
    /// Sends the preface and our SETTINGS, reads the server's SETTINGS, ACKs them, and waits for the
    /// ACK of ours: when this returns the server applies our settings to everything we send next.
    /// </summary>
    public async Task HandshakeAsync(params (ushort Id, uint Value)[] settings)
    {
        await WriteAsync(Http2Protocol.ClientPreface.ToArray(), ScriptedConnection.SettingsFrame(settings));
        ServerSettings = await Connection.NextAsync(f => f.Type == Http2FrameType.Settings && !f.IsAck, "server SETTINGS");
        await Connection.WriteSettingsAckAsync();
        await Connection.NextAsync(f => f.Type == Http2FrameType.Settings && f.IsAck, "SETTINGS ACK");
    }

    /// <summary>Sends SETTINGS mid-connection and waits for their ACK (the server applies them from then on).</summary>
    public async Task ChangeSettingsAsync(params (ushort Id, uint Value)[] settings)
    {
        await Connection.WriteSettingsAsync(settings);
        await Connection.NextAsync(f => f.Type == Http2FrameType.Settings && f.IsAck, "SETTINGS ACK");
    }

    // --- Requests.

    /// <summary>A request's header list: the four pseudo-headers, then <paramref name="headers"/>.</summary>
    public static List<(string Name, string Value)> Request(string path = DefaultPath, string method = "POST", params (string Name, string Value)[] headers) =>
        [(":method", method), (":scheme", "http"), (":authority", Authority), (":path", path), .. headers];

    /// <summary>A gRPC-like request's header list (content-type, te).</summary>
    public static List<(string Name, string Value)> GrpcRequest(string path = DefaultPath, params (string Name, string Value)[] headers) =>
        Request(path, "POST", [("content-type", "application/grpc"), ("te", "trailers"), .. headers]);

    /// <summary>Encodes the fields with the connection's encoder and sends them as HEADERS (and CONTINUATIONs).</summary>
    public Task WriteRequestAsync(int streamId, IEnumerable<(string Name, string Value)> fields, bool endStream = true, int continuations = 0) =>
        Connection.WriteHeadersAsync(streamId, fields, endStream, continuations);

    /// <summary>Sends a header block given as raw HPACK octets (no encoder state changes).</summary>
    public Task WriteBlockAsync(int streamId, byte[] block, bool endStream = true, int continuations = 0) =>
        Connection.WriteRawAsync(ScriptedConnection.HeaderFrames(streamId, block, endStream, continuations));

    /// <summary>
    /// Reads the response on <paramref name="streamId"/> until it ends (END_STREAM or RST_STREAM),
    /// crediting the server's send windows back for every DATA frame when <paramref name="credit"/>.
    /// </summary>
    public async Task<ScriptedResponse> ReadResponseAsync(int streamId, bool credit = true)
    {
        var response = new ScriptedResponse(streamId);
        var blockEndsStream = false;
        while (true)
        {
            var frame = await Connection.NextAsync(
                f => f.StreamId == streamId && f.Type is Http2FrameType.Headers or Http2FrameType.Continuation or Http2FrameType.Data or Http2FrameType.RstStream,
                $"response frame on stream {streamId}");
            response.Frames.Add(frame);
            switch (frame.Type)
            {
                case Http2FrameType.RstStream:
                    response.Reset = frame.ErrorCode;
                    return response;
                case Http2FrameType.Data:
                    response.Data.Add(frame);
                    if (credit && frame.Payload.Length > 0)
                    {
                        var updates = new List<byte>(ScriptedConnection.WindowUpdateFrame(0, frame.Payload.Length));
                        if (!frame.EndStream)
                            updates.AddRange(ScriptedConnection.WindowUpdateFrame(streamId, frame.Payload.Length));
                        await Connection.WriteRawAsync(updates.ToArray());
                    }
                    if (frame.EndStream)
                        return response;
                    break;
                default:
                    if (frame.Type == Http2FrameType.Headers)
                        blockEndsStream = frame.EndStream;
                    if (frame.Headers is null)
                        break; // the block goes on in CONTINUATION frames
                    if (response.HeadersFrame is null)
                    {
                        response.HeadersFrame = frame;
                        response.EndedWithHeaders = blockEndsStream;
                    }
                    else
                    {
                        response.TrailersFrame = frame;
                        response.TrailersEndStream = blockEndsStream;
                    }
                    if (blockEndsStream)
                        return response;
                    break;
            }
        }
    }

    /// <summary>Sends a request without a body and reads its response.</summary>
    public async Task<ScriptedResponse> RoundTripAsync(int streamId, IEnumerable<(string Name, string Value)> fields)
    {
        await WriteRequestAsync(streamId, fields);
        return await ReadResponseAsync(streamId);
    }

    /// <summary>
    /// Proves the connection still serves requests: a request for <see cref="TestApp.ProbePath"/> on
    /// <paramref name="streamId"/> gets its 200 and body (the test application answers it without counting it as a call).
    /// </summary>
    public async Task AssertUsableAsync(int streamId)
    {
        var response = await RoundTripAsync(streamId, Request(TestApp.ProbePath, "GET"));
        Assert.Null(response.Reset);
        Assert.Equal(200, response.Status);
        Assert.Equal(TestApp.ProbeBody, Encoding.ASCII.GetString(response.Body));
    }

    // --- Expectations.

    /// <summary>The next frame of <paramref name="type"/> on <paramref name="streamId"/> (not an ACK); other frames stay for later.</summary>
    public Task<Http2Frame> ExpectFrameAsync(Http2FrameType type, int streamId) => Connection.NextAsync(type, streamId);

    /// <summary>The next GOAWAY, whose code must be <paramref name="code"/>; its debug data must be plain text without any of <paramref name="secrets"/>.</summary>
    public async Task<Http2Frame> ExpectGoAwayAsync(Http2ErrorCode code, params string[] secrets)
    {
        var goAway = await Connection.NextAsync(Http2FrameType.GoAway);
        Assert.True(goAway.Payload.Length >= 8, $"GOAWAY of {goAway.Payload.Length} bytes.");
        var debug = DebugText(goAway);
        Assert.True(code == goAway.ErrorCode, $"Expected GOAWAY {code}, got {goAway.ErrorCode} (debug data: \"{debug}\").");
        AssertCleanText(debug, secrets);
        return goAway;
    }

    /// <summary>A connection error: GOAWAY with <paramref name="code"/>, then the server closes the connection.</summary>
    public async Task<Http2Frame> ExpectConnectionErrorAsync(Http2ErrorCode code, params string[] secrets)
    {
        var goAway = await ExpectGoAwayAsync(code, secrets);
        await ExpectClosedAsync();
        return goAway;
    }

    /// <summary>The next RST_STREAM on <paramref name="streamId"/>, whose code must be <paramref name="code"/>.</summary>
    public async Task<Http2Frame> ExpectRstAsync(int streamId, Http2ErrorCode code)
    {
        var reset = await Connection.NextAsync(Http2FrameType.RstStream, streamId);
        Assert.Equal(4, reset.Payload.Length);
        Assert.True(code == reset.ErrorCode, $"Expected RST_STREAM {code} on stream {streamId}, got {reset.ErrorCode}.");
        return reset;
    }

    /// <summary>Waits until the server closed the connection (FIN or reset).</summary>
    public Task ExpectClosedAsync()
    {
        Connection.ResumeReading();
        return Connection.WaitForCloseAsync();
    }

    /// <summary>
    /// The GOAWAY of a graceful shutdown that ends the connection's streams: a first GOAWAY may carry
    /// 2^31-1 (RFC 9113 §6.8), then the server PINGs (answered here) and sends the real last stream id.
    /// </summary>
    public async Task<Http2Frame> ExpectFinalGoAwayAsync()
    {
        while (true)
        {
            var frame = await Connection.NextAsync(f => f.Type == Http2FrameType.GoAway || (f.Type == Http2FrameType.Ping && !f.IsAck), "GOAWAY");
            if (frame.Type == Http2FrameType.Ping)
            {
                await Connection.WritePingAsync(frame.Payload, ack: true);
                continue;
            }
            Assert.True(frame.ErrorCode == Http2ErrorCode.NoError, $"Expected GOAWAY NO_ERROR, got {frame.ErrorCode} (\"{DebugText(frame)}\").");
            if (frame.LastStreamId != int.MaxValue)
                return frame;
        }
    }

    /// <summary>A snapshot of every frame the server sent so far.</summary>
    public List<Http2Frame> AllFrames()
    {
        lock (Connection.AllFrames)
            return [.. Connection.AllFrames];
    }

    /// <summary>
    /// A round trip that survives the server ending the connection: sends a PING and returns its ACK,
    /// or the GOAWAY the server sent first (then the connection is closing).
    /// </summary>
    public async Task<Http2Frame> PingOrGoAwayAsync()
    {
        var opaque = Guid.NewGuid().ToByteArray().AsSpan(0, 8).ToArray();
        try
        {
            await Connection.WritePingAsync(opaque);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The server closed the connection: its GOAWAY, if any, is among the frames read.
        }
        try
        {
            return await Connection.NextAsync(
                f => f.Type == Http2FrameType.GoAway || (f.Type == Http2FrameType.Ping && f.IsAck && f.Payload.AsSpan().SequenceEqual(opaque)),
                "PING ACK or GOAWAY");
        }
        catch (IOException ex)
        {
            throw new IOException($"{ex.Message} Every frame the server sent: {string.Join(", ", AllFrames())}.", ex);
        }
    }

    public static string DebugText(Http2Frame goAway) => Encoding.UTF8.GetString(goAway.Payload.AsSpan(8));

    /// <summary>Text the server wrote for a peer (GOAWAY debug data, an error body): printable, and none of the request's values.</summary>
    public static void AssertCleanText(string text, params string[] secrets)
    {
        Assert.True(text.All(c => c is '\r' or '\n' or '\t' || !char.IsControl(c)) && !text.Contains('\uFFFD', StringComparison.Ordinal), $"Not plain text: \"{text}\".");
        foreach (var secret in secrets)
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
    }

    // --- Raw connections (HTTP/1.x and garbage prefaces).

    /// <summary>Sends <paramref name="bytes"/> on a new connection and reads everything the server sends until it closes.</summary>
    public static async Task<byte[]> ExchangeRawAsync(IPEndPoint endpoint, byte[] bytes, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint).Within(file, line);
        await socket.SendAsync(bytes, SocketFlags.None).Within(file, line);
        return await ReadToCloseAsync(socket).Within(file, line);
    }

    private static async Task<byte[]> ReadToCloseAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (received.Length < 1024 * 1024)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                break;
            }
            if (read == 0)
                break;
            received.Write(buffer, 0, read);
        }
        return received.ToArray();
    }

    /// <summary>Splits raw bytes into frames (no header decoding); a partial frame at the end is dropped.</summary>
    public static List<Http2Frame> ParseFrames(ReadOnlySpan<byte> bytes)
    {
        var frames = new List<Http2Frame>();
        while (bytes.Length >= Http2Protocol.FrameHeaderLength)
        {
            var length = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
            if (bytes.Length < 9 + length)
                break;
            var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes[5..]) & 0x7fff_ffffu);
            frames.Add(new Http2Frame((Http2FrameType)bytes[3], bytes[4], streamId, bytes.Slice(9, length).ToArray()));
            bytes = bytes[(9 + length)..];
        }
        return frames;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}

/// <summary>One response as read off the wire by <see cref="ScriptedHttp2Client.ReadResponseAsync"/>.</summary>
internal sealed class ScriptedResponse(int streamId)
{
    public int StreamId { get; } = streamId;

    /// <summary>Every frame of the response, in order.</summary>
    public List<Http2Frame> Frames { get; } = [];

    /// <summary>The frame that ended the first header block (its fields decoded).</summary>
    public Http2Frame? HeadersFrame { get; set; }

    /// <summary>The first header block carried END_STREAM: a Trailers-Only response.</summary>
    public bool EndedWithHeaders { get; set; }

    public List<Http2Frame> Data { get; } = [];

    public Http2Frame? TrailersFrame { get; set; }

    public bool TrailersEndStream { get; set; }

    /// <summary>The server reset the stream (with this code) instead of ending it.</summary>
    public Http2ErrorCode? Reset { get; set; }

    public int Status => int.Parse(HeadersFrame?.Header(":status") ?? throw new InvalidOperationException($"No response headers on stream {StreamId} ({Describe()})."), System.Globalization.CultureInfo.InvariantCulture);

    public byte[] Body => [.. Data.SelectMany(DataBytes)];

    public string? Header(string name) => HeadersFrame?.Header(name);

    public string? Trailer(string name) => TrailersFrame?.Header(name);

    /// <summary>A DATA frame's body bytes (padding removed).</summary>
    public static byte[] DataBytes(Http2Frame frame)
    {
        if (!frame.HasFlag(Http2Protocol.FlagPadded))
            return frame.Payload;
        return frame.Payload.AsSpan(1, frame.Payload.Length - 1 - frame.Payload[0]).ToArray();
    }

    public string Describe() => string.Join(", ", Frames);
}
