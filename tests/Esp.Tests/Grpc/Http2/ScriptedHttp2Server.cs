using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Esp.Tests.Grpc.Http2.Hpack;

namespace Esp.Tests.Grpc.Http2;

/// <summary>How a field of a header block was represented (RFC 7541 §6).</summary>
internal enum HpackRepresentation
{
    Indexed,
    IncrementalIndexing,
    WithoutIndexing,
    NeverIndexed,
}

/// <summary>One decoded field with the first octet of its representation.</summary>
internal sealed record HeaderField(string Name, string Value, HpackRepresentation Representation, byte FirstByte);

/// <summary>A frame the client sent, as read off the wire.</summary>
internal sealed class Http2Frame(Http2FrameType type, byte flags, int streamId, byte[] payload)
{
    public Http2FrameType Type { get; } = type;

    public byte Flags { get; } = flags;

    public int StreamId { get; } = streamId;

    public byte[] Payload { get; } = payload;

    /// <summary>On the frame that ended a header block (END_HEADERS): the block's decoded fields.</summary>
    public IReadOnlyList<HeaderField>? Headers { get; init; }

    /// <summary>On the frame that ended a header block: the dynamic table size updates at its start.</summary>
    public IReadOnlyList<int>? SizeUpdates { get; init; }

    /// <summary>On the frame that ended a header block: the whole block (HEADERS + CONTINUATION fragments).</summary>
    public byte[]? HeaderBlock { get; init; }

    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    public bool EndStream => Type is Http2FrameType.Data or Http2FrameType.Headers && HasFlag(Http2Protocol.FlagEndStream);

    public bool IsAck => Type is Http2FrameType.Settings or Http2FrameType.Ping && HasFlag(Http2Protocol.FlagAck);

    /// <summary>RST_STREAM's code, or GOAWAY's.</summary>
    public Http2ErrorCode ErrorCode => Type switch
    {
        Http2FrameType.RstStream => (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Payload),
        Http2FrameType.GoAway => (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4)),
        _ => throw new InvalidOperationException($"{Type} has no error code."),
    };

    public int LastStreamId => (int)(BinaryPrimitives.ReadUInt32BigEndian(Payload) & 0x7fff_ffffu);

    public int WindowIncrement => (int)(BinaryPrimitives.ReadUInt32BigEndian(Payload) & 0x7fff_ffffu);

    public IReadOnlyList<(ushort Id, uint Value)> Settings
    {
        get
        {
            var settings = new List<(ushort, uint)>();
            for (var i = 0; i + 6 <= Payload.Length; i += 6)
                settings.Add((BinaryPrimitives.ReadUInt16BigEndian(Payload.AsSpan(i)), BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(i + 2))));
            return settings;
        }
    }

    /// <summary>The decoded header fields as (name, value) pairs.</summary>
    public List<(string Name, string Value)> Fields => [.. (Headers ?? throw new InvalidOperationException("Not the end of a header block.")).Select(f => (f.Name, f.Value))];

    public string? Header(string name) => Headers?.FirstOrDefault(f => f.Name == name)?.Value;

    public override string ToString() => $"{Type} flags=0x{Flags:x2} stream={StreamId} length={Payload.Length}";
}

/// <summary>
/// A TCP listener on 127.0.0.1 that plays an HTTP/2 server by script: every accepted connection is
/// handed to the test as a <see cref="ScriptedConnection"/>.
/// </summary>
internal sealed class ScriptedHttp2Server : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly TcpListener _listener;
    private readonly Channel<ScriptedConnection> _accepted = Channel.CreateUnbounded<ScriptedConnection>();
    private readonly List<ScriptedConnection> _connections = [];
    private readonly Task _acceptLoop;
    private int _acceptedCount;

    private ScriptedHttp2Server()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public string Authority => $"127.0.0.1:{Port}";

    /// <summary>Connections accepted so far.</summary>
    public int AcceptedCount => Volatile.Read(ref _acceptedCount);

    public static ScriptedHttp2Server Start() => new();

    /// <summary>A pool for this server as the proxy makes them.</summary>
    public Http2ConnectionPool CreatePool() => new(Address, null, TimeSpan.FromSeconds(5));

    /// <summary>The next connection the client opened.</summary>
    public async Task<ScriptedConnection> AcceptAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            return await _accepted.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"The client opened no connection within {Timeout.TotalSeconds} s.");
        }
    }

    /// <summary>Accepts the next connection and runs the handshake (see <see cref="ScriptedConnection.HandshakeAsync"/>).</summary>
    public async Task<ScriptedConnection> AcceptAndHandshakeAsync(params (ushort Id, uint Value)[] settings)
    {
        var connection = await AcceptAsync();
        await connection.HandshakeAsync(settings);
        return connection;
    }

    /// <summary>True when another connection has been accepted but not taken by <see cref="AcceptAsync"/>.</summary>
    public bool HasUnclaimedConnection => _accepted.Reader.Count > 0;

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync();
            }
            catch (Exception)
            {
                _accepted.Writer.TryComplete();
                return;
            }
            socket.NoDelay = true;
            var connection = new ScriptedConnection(socket);
            lock (_connections)
                _connections.Add(connection);
            Interlocked.Increment(ref _acceptedCount);
            _accepted.Writer.TryWrite(connection);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _acceptLoop;
        ScriptedConnection[] connections;
        lock (_connections)
            connections = [.. _connections];
        foreach (var connection in connections)
            await connection.DisposeAsync();
    }
}

/// <summary>
/// One client connection seen from the server: a background loop reads the client's preface and
/// frames (decoding every header block, in order, with the project's <see cref="HpackDecoder"/>), and
/// the test takes them with <see cref="NextAsync(Func{Http2Frame, bool}, string?)"/>; the write helpers
/// send frames (header blocks encoded with the project's <see cref="HpackEncoder"/>), or raw bytes.
/// The server tests' client (Server/ScriptedHttp2Client.cs) plays the other end with the same type:
/// created with <c>peerSendsPreface: false</c>, it reads the server's frames, and messages name the peer "server".
/// </summary>
internal sealed class ScriptedConnection : IAsyncDisposable
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly HpackDecoder _decoder;
    private readonly bool _peerSendsPreface;
    private readonly string _peer; // "client" or "server", for messages
    private readonly Channel<Http2Frame> _frames = Channel.CreateUnbounded<Http2Frame>();
    private readonly List<Http2Frame> _unclaimed = []; // read off the channel, not matched yet
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource _prefaceReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _readLoop;
    private TaskCompletionSource? _readGate;
    private long _pingCounter;

    /// <param name="socket">The connected socket.</param>
    /// <param name="peerSendsPreface">True when the peer is a client (it starts with the connection preface); false when it is a server.</param>
    /// <param name="decoderTableSize">Our SETTINGS_HEADER_TABLE_SIZE as the decoder of the peer's header blocks enforces it.</param>
    internal ScriptedConnection(Socket socket, bool peerSendsPreface = true, int decoderTableSize = 4096)
    {
        _socket = socket;
        _peerSendsPreface = peerSendsPreface;
        _peer = peerSendsPreface ? "client" : "server";
        _decoder = new HpackDecoder(decoderTableSize, maxHeaderListSize: 16 * 1024 * 1024);
        if (!peerSendsPreface)
            _prefaceReceived.TrySetResult();
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>The encoder of our (the server's) header blocks; its table follows what we sent.</summary>
    public HpackEncoder Encoder { get; } = new();

    /// <summary>The client's SETTINGS frame, once <see cref="HandshakeAsync"/> read it.</summary>
    public Http2Frame? ClientSettings { get; private set; }

    /// <summary>The client's connection WINDOW_UPDATE after its SETTINGS, once <see cref="HandshakeAsync"/> read it.</summary>
    public Http2Frame? ClientWindowUpdate { get; private set; }

    /// <summary>Completes when the client closed the connection (or reset it): the read returned 0 or failed.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Why the read loop stopped, when it was not a clean close (for diagnostics).</summary>
    public Exception? ReadError { get; private set; }

    /// <summary>Every frame read so far, in order.</summary>
    public List<Http2Frame> AllFrames { get; } = [];

    // --- Reading.

    public async Task ReadPrefaceAsync() => await _prefaceReceived.Task.WaitAsync(ScriptedHttp2Server.Timeout);

    /// <summary>
    /// The first frame (in arrival order, among those not yet taken) that matches; frames that do
    /// not match stay for later calls. Throws when the client closes first or after the timeout.
    /// </summary>
    public async Task<Http2Frame> NextAsync(Func<Http2Frame, bool> match, string? what = null)
    {
        for (var i = 0; i < _unclaimed.Count; i++)
        {
            if (match(_unclaimed[i]))
            {
                var frame = _unclaimed[i];
                _unclaimed.RemoveAt(i);
                return frame;
            }
        }
        using var timeout = new CancellationTokenSource(ScriptedHttp2Server.Timeout);
        while (true)
        {
            Http2Frame frame;
            try
            {
                frame = await _frames.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"No {what ?? "matching frame"} within {ScriptedHttp2Server.Timeout.TotalSeconds} s; unclaimed: {Describe(_unclaimed)}.");
            }
            catch (ChannelClosedException)
            {
                throw new IOException($"The {_peer} closed the connection before sending {what ?? "a matching frame"}; unclaimed: {Describe(_unclaimed)}.", ReadError);
            }
            if (match(frame))
                return frame;
            _unclaimed.Add(frame);
        }
    }

    public Task<Http2Frame> NextAsync(Http2FrameType type, int? streamId = null) =>
        NextAsync(f => f.Type == type && (streamId is null || f.StreamId == streamId) && !f.IsAck, streamId is null ? $"{type}" : $"{type} on stream {streamId}");

    /// <summary>The next frame, whatever it is (including ones left unclaimed before).</summary>
    public Task<Http2Frame> NextAnyAsync() => NextAsync(_ => true, "frame");

    /// <summary>The next complete header block on a stream: returns the frame that ended it (HEADERS or the last CONTINUATION).</summary>
    public Task<Http2Frame> NextHeadersAsync(int streamId) =>
        NextAsync(f => f.Headers is not null && f.StreamId == streamId, $"header block on stream {streamId}");

    /// <summary>Takes the frames not yet claimed (read before now); the test can check none is unexpected.</summary>
    public List<Http2Frame> TakeUnclaimed()
    {
        var frames = new List<Http2Frame>(_unclaimed);
        _unclaimed.Clear();
        while (_frames.Reader.TryRead(out var frame))
            frames.Add(frame);
        return frames;
    }

    /// <summary>
    /// A round trip: sends a PING and returns every frame the client sent before its ACK (not yet
    /// claimed). The client answers frames in order, so whatever it sent in response to earlier
    /// frames (or for calls made before this) is in the list.
    /// </summary>
    public async Task<List<Http2Frame>> SyncAsync()
    {
        var opaque = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(opaque, 0x5359_4e43_0000_0000 + Interlocked.Increment(ref _pingCounter));
        await WritePingAsync(opaque);
        await NextAsync(f => f.Type == Http2FrameType.Ping && f.IsAck && f.Payload.AsSpan().SequenceEqual(opaque), "PING ACK");
        return TakeUnclaimed();
    }

    /// <summary>Waits until the client closed the connection.</summary>
    public async Task WaitForCloseAsync()
    {
        try
        {
            await Closed.WaitAsync(ScriptedHttp2Server.Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The {_peer} did not close the connection within {ScriptedHttp2Server.Timeout.TotalSeconds} s.");
        }
    }

    /// <summary>Stops reading from the socket (after any read in progress) so the client's sends back up.</summary>
    public void PauseReading() => Volatile.Write(ref _readGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void ResumeReading() => Interlocked.Exchange(ref _readGate, null)?.TrySetResult();

    /// <summary>
    /// Reads the preface, the client's SETTINGS and its connection WINDOW_UPDATE; sends our SETTINGS
    /// (<paramref name="settings"/>) and the ACK of the client's; waits for the client to ACK ours, so
    /// that when this returns the client applies them to everything it does next.
    /// </summary>
    public async Task HandshakeAsync(params (ushort Id, uint Value)[] settings)
    {
        await ReadPrefaceAsync();
        ClientSettings = await NextAsync(f => f.Type == Http2FrameType.Settings && !f.IsAck, "client SETTINGS");
        ClientWindowUpdate = await NextAsync(f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 0, "client connection WINDOW_UPDATE");
        await WriteSettingsAsync(settings);
        await WriteSettingsAckAsync();
        await NextAsync(f => f.Type == Http2FrameType.Settings && f.IsAck, "SETTINGS ACK");
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var filled = 0;
        var prefaceDone = !_peerSendsPreface;
        ArrayBufferWriter<byte>? block = null;
        int blockStream = 0;
        try
        {
            while (true)
            {
                if (Volatile.Read(ref _readGate) is { } gate)
                    await gate.Task;
                if (filled == buffer.Length)
                    Array.Resize(ref buffer, buffer.Length * 2);
                var read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                if (read == 0)
                    break;
                filled += read;
                var offset = 0;
                if (!prefaceDone)
                {
                    if (filled < Preface.Length)
                        continue;
                    if (!buffer.AsSpan(0, Preface.Length).SequenceEqual(Preface))
                        throw new InvalidDataException($"The {_peer}'s preface is wrong.");
                    offset = Preface.Length;
                    prefaceDone = true;
                    _prefaceReceived.TrySetResult();
                }
                while (filled - offset >= 9)
                {
                    var length = (buffer[offset] << 16) | (buffer[offset + 1] << 8) | buffer[offset + 2];
                    if (filled - offset < 9 + length)
                    {
                        if (9 + length > buffer.Length)
                            Array.Resize(ref buffer, 9 + length);
                        break;
                    }
                    var type = (Http2FrameType)buffer[offset + 3];
                    var flags = buffer[offset + 4];
                    var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(offset + 5)) & 0x7fff_ffffu);
                    var payload = buffer.AsSpan(offset + 9, length).ToArray();
                    offset += 9 + length;
                    var frame = new Http2Frame(type, flags, streamId, payload);
                    if (type is Http2FrameType.Headers or Http2FrameType.Continuation)
                    {
                        if (type == Http2FrameType.Headers)
                        {
                            block = new ArrayBufferWriter<byte>();
                            blockStream = streamId;
                            block.Write(HeadersFragment(flags, payload));
                        }
                        else if (block is null || blockStream != streamId)
                        {
                            throw new InvalidDataException($"The {_peer} sent CONTINUATION without a header block in progress.");
                        }
                        else
                        {
                            block.Write(payload);
                        }
                        if ((flags & Http2Protocol.FlagEndHeaders) != 0)
                        {
                            var bytes = block.WrittenSpan.ToArray();
                            block = null;
                            frame = DecodeBlock(frame, bytes);
                        }
                    }
                    else if (block is not null)
                    {
                        throw new InvalidDataException($"The {_peer} sent {type} in the middle of a header block.");
                    }
                    lock (AllFrames)
                        AllFrames.Add(frame);
                    _frames.Writer.TryWrite(frame);
                }
                Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
                filled -= offset;
            }
        }
        catch (Exception ex)
        {
            ReadError = ex;
        }
        _frames.Writer.TryComplete();
        _prefaceReceived.TrySetException(new IOException($"The {_peer} closed the connection before its preface.", ReadError));
        _closed.TrySetResult();
    }

    private static byte[] HeadersFragment(byte flags, byte[] payload)
    {
        var fragment = payload.AsSpan();
        if ((flags & Http2Protocol.FlagPadded) != 0)
            fragment = fragment[1..^payload[0]];
        if ((flags & Http2Protocol.FlagPriority) != 0)
            fragment = fragment[5..];
        return fragment.ToArray();
    }

    private Http2Frame DecodeBlock(Http2Frame frame, byte[] block)
    {
        var collector = new Collector();
        if (!_decoder.Decode(block, collector))
            throw new InvalidDataException($"The {_peer}'s header block is over the harness's limit.");
        var (representations, sizeUpdates) = Representations(block);
        if (representations.Count != collector.Fields.Count)
            throw new InvalidDataException("The harness's block walk disagrees with the decoder.");
        var fields = collector.Fields.Select((f, i) => new HeaderField(f.Name, f.Value, representations[i].Kind, representations[i].FirstByte)).ToList();
        return new Http2Frame(frame.Type, frame.Flags, frame.StreamId, frame.Payload) { Headers = fields, SizeUpdates = sizeUpdates, HeaderBlock = block };
    }

    /// <summary>Walks a block for the representation of each field (the decoder gives only names and values).</summary>
    private static (List<(HpackRepresentation Kind, byte FirstByte)>, List<int>) Representations(byte[] block)
    {
        var kinds = new List<(HpackRepresentation, byte)>();
        var sizeUpdates = new List<int>();
        var position = 0;
        while (position < block.Length)
        {
            var first = block[position];
            if (first >= 0x80)
            {
                HpackInteger.Read(block, ref position, 7);
                kinds.Add((HpackRepresentation.Indexed, first));
            }
            else if (first >= 0x40)
            {
                SkipLiteral(block, ref position, 6);
                kinds.Add((HpackRepresentation.IncrementalIndexing, first));
            }
            else if (first >= 0x20)
            {
                sizeUpdates.Add(HpackInteger.Read(block, ref position, 5));
            }
            else
            {
                SkipLiteral(block, ref position, 4);
                kinds.Add((first >= 0x10 ? HpackRepresentation.NeverIndexed : HpackRepresentation.WithoutIndexing, first));
            }
        }
        return (kinds, sizeUpdates);

        static void SkipLiteral(byte[] block, ref int position, int prefixBits)
        {
            if (HpackInteger.Read(block, ref position, prefixBits) == 0)
                SkipString(block, ref position);
            SkipString(block, ref position);
        }

        static void SkipString(byte[] block, ref int position)
        {
            var length = HpackInteger.Read(block, ref position, 7); // (not "position +=": that reads position before the call moves it)
            position += length;
        }
    }

    private static string Describe(List<Http2Frame> frames) => frames.Count == 0 ? "none" : string.Join(", ", frames.Take(20));

    // --- Writing.

    /// <summary>Writes raw bytes (anything, malformed frames included) in one send.</summary>
    public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            while (!bytes.IsEmpty)
            {
                var sent = await _socket.SendAsync(bytes, SocketFlags.None);
                bytes = bytes[sent..];
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public static byte[] Frame(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[9 + payload.Length];
        Http2Protocol.WriteFrameHeader(bytes, payload.Length, type, flags, streamId);
        payload.CopyTo(bytes.AsSpan(9));
        return bytes;
    }

    /// <summary>A frame of any type given as a raw number (for unknown types).</summary>
    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload) => Frame((Http2FrameType)type, flags, streamId, payload);

    public Task WriteFrameAsync(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload) => WriteRawAsync(Frame(type, flags, streamId, payload));

    public static byte[] SettingsFrame(params (ushort Id, uint Value)[] settings)
    {
        var payload = new byte[6 * settings.Length];
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(6 * i), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(6 * i + 2), settings[i].Value);
        }
        return Frame(Http2FrameType.Settings, 0, 0, payload);
    }

    public Task WriteSettingsAsync(params (ushort Id, uint Value)[] settings) => WriteRawAsync(SettingsFrame(settings));

    public Task WriteSettingsAckAsync() => WriteFrameAsync(Http2FrameType.Settings, Http2Protocol.FlagAck, 0, []);

    /// <summary>Encodes a header block with <see cref="Encoder"/> (every field with <paramref name="indexing"/>).</summary>
    public byte[] EncodeBlock(IEnumerable<(string Name, string Value)> fields, HpackIndexing indexing = HpackIndexing.Index) =>
        Encoder.EncodeBlock(indexing, [.. fields]);

    /// <summary>A literal field without indexing with a new name, written by hand (any octets, upper case included; no table change).</summary>
    public static byte[] RawLiteral(string name, string value)
    {
        var bytes = new List<byte> { 0x00 };
        foreach (var s in new[] { name, value })
        {
            var octets = Encoding.Latin1.GetBytes(s);
            var length = new byte[HpackInteger.MaxLength];
            bytes.AddRange(length.AsSpan(0, HpackInteger.Write(length, octets.Length, 7, 0x00)).ToArray());
            bytes.AddRange(octets);
        }
        return [.. bytes];
    }

    /// <summary>
    /// The frames of one header block: HEADERS (optionally padded, with the PRIORITY fields) then
    /// <paramref name="continuations"/> CONTINUATION frames, the block split as evenly as it goes.
    /// </summary>
    public static byte[] HeaderFrames(int streamId, ReadOnlySpan<byte> block, bool endStream, int continuations = 0, int? padLength = null, bool priority = false, bool endHeaders = true)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(padLength ?? 0, 255, nameof(padLength));
        var output = new ArrayBufferWriter<byte>();
        var pieces = continuations + 1;
        var pieceSize = (block.Length + pieces - 1) / Math.Max(pieces, 1);
        for (var i = 0; i < pieces; i++)
        {
            var start = Math.Min(i * pieceSize, block.Length);
            var piece = block[start..Math.Min(start + pieceSize, block.Length)];
            var last = i == pieces - 1;
            byte flags = last && endHeaders ? Http2Protocol.FlagEndHeaders : (byte)0;
            if (i == 0)
            {
                if (endStream)
                    flags |= Http2Protocol.FlagEndStream;
                var payload = new List<byte>();
                if (padLength is { } pad)
                {
                    flags |= Http2Protocol.FlagPadded;
                    payload.Add((byte)pad);
                }
                if (priority)
                {
                    flags |= Http2Protocol.FlagPriority;
                    payload.AddRange([0x80, 0x00, 0x00, 0x00, 15]); // exclusive, depends on 0, weight 16
                }
                payload.AddRange(piece.ToArray());
                if (padLength is { } padding)
                    payload.AddRange(new byte[padding]);
                output.Write(Frame(Http2FrameType.Headers, flags, streamId, payload.ToArray()));
            }
            else
            {
                output.Write(Frame(Http2FrameType.Continuation, flags, streamId, piece));
            }
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Encodes and writes a header block (see <see cref="HeaderFrames"/>).</summary>
    public Task WriteHeadersAsync(int streamId, IEnumerable<(string Name, string Value)> fields, bool endStream = false, int continuations = 0, int? padLength = null, bool priority = false) =>
        WriteRawAsync(HeaderFrames(streamId, EncodeBlock(fields), endStream, continuations, padLength, priority));

    /// <summary>Response headers: :status then the fields given.</summary>
    public Task WriteResponseHeadersAsync(int streamId, int status = 200, bool endStream = false, params (string Name, string Value)[] fields) =>
        WriteHeadersAsync(streamId, [(":status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. fields], endStream);

    public Task WriteTrailersAsync(int streamId, params (string Name, string Value)[] fields) => WriteHeadersAsync(streamId, fields, endStream: true);

    public static byte[] DataFrame(int streamId, ReadOnlySpan<byte> data, bool endStream = false, int? padLength = null)
    {
        byte flags = endStream ? Http2Protocol.FlagEndStream : (byte)0;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(padLength ?? 0, 255, nameof(padLength));
        if (padLength is not { } pad)
            return Frame(Http2FrameType.Data, flags, streamId, data);
        var payload = new byte[1 + data.Length + pad];
        payload[0] = (byte)pad;
        data.CopyTo(payload.AsSpan(1));
        return Frame(Http2FrameType.Data, (byte)(flags | Http2Protocol.FlagPadded), streamId, payload);
    }

    public Task WriteDataAsync(int streamId, ReadOnlySpan<byte> data, bool endStream = false, int? padLength = null) =>
        WriteRawAsync(DataFrame(streamId, data, endStream, padLength));

    /// <summary>Writes <paramref name="data"/> as DATA frames of at most <paramref name="maxFrame"/> bytes, in one send.</summary>
    public Task WriteDataChunkedAsync(int streamId, ReadOnlySpan<byte> data, bool endStream = false, int maxFrame = 16_384)
    {
        var output = new ArrayBufferWriter<byte>();
        do
        {
            var size = Math.Min(maxFrame, data.Length);
            output.Write(DataFrame(streamId, data[..size], endStream && size == data.Length));
            data = data[size..];
        }
        while (!data.IsEmpty);
        return WriteRawAsync(output.WrittenMemory);
    }

    public static byte[] RstStreamFrame(int streamId, Http2ErrorCode code)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)code);
        return Frame(Http2FrameType.RstStream, 0, streamId, payload);
    }

    public Task WriteRstStreamAsync(int streamId, Http2ErrorCode code) => WriteRawAsync(RstStreamFrame(streamId, code));

    public static byte[] GoAwayFrame(int lastStreamId, Http2ErrorCode code, string debug = "")
    {
        var payload = new byte[8 + Encoding.ASCII.GetByteCount(debug)];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)lastStreamId);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), (uint)code);
        Encoding.ASCII.GetBytes(debug, payload.AsSpan(8));
        return Frame(Http2FrameType.GoAway, 0, 0, payload);
    }

    public Task WriteGoAwayAsync(int lastStreamId, Http2ErrorCode code, string debug = "") => WriteRawAsync(GoAwayFrame(lastStreamId, code, debug));

    public Task WritePingAsync(ReadOnlySpan<byte> opaque, bool ack = false) =>
        WriteFrameAsync(Http2FrameType.Ping, ack ? Http2Protocol.FlagAck : (byte)0, 0, opaque);

    public static byte[] WindowUpdateFrame(int streamId, int increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        return Frame(Http2FrameType.WindowUpdate, 0, streamId, payload);
    }

    public Task WriteWindowUpdateAsync(int streamId, int increment) => WriteRawAsync(WindowUpdateFrame(streamId, increment));

    /// <summary>Half-closes (FIN): the client reads the end of the stream; we keep reading until it closes.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes abruptly: a TCP reset.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        ResumeReading();
        _socket.Dispose();
        await _readLoop;
        _writeLock.Dispose();
    }

    private sealed class Collector : IHpackHeaderHandler
    {
        public List<(string Name, string Value)> Fields { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
            Fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));
    }
}
