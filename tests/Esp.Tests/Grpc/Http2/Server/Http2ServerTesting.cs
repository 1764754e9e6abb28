using System.Net;
using System.Text;
using System.Threading.Channels;
using Esp.Grpc.Http2.Server;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// The application behind the server under test: runs <see cref="Handler"/> for each request and
/// counts the calls (how many, how many at once), except those for <see cref="ProbePath"/>, which
/// it answers itself (tests use them to prove a connection still works).
/// </summary>
internal sealed class TestApp
{
    public const string ProbePath = "/probe";

    public const string ProbeBody = "probe ok";

    private readonly Channel<HttpContext> _started = Channel.CreateUnbounded<HttpContext>();
    private readonly Lock _lock = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _completionWaiters = [];
    private int _calls;
    private int _running;
    private int _maxRunning;
    private int _completed;

    /// <summary>What each call runs (by default: read the body, answer 200 with it and grpc-status 0).</summary>
    public RequestDelegate Handler { get; set; } = EchoAsync;

    /// <summary>Calls so far (probes excluded).</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Calls running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>The most calls that ran at once.</summary>
    public int MaxRunning => Volatile.Read(ref _maxRunning);

    /// <summary>Calls returned (or thrown) so far.</summary>
    public int Completed => Volatile.Read(ref _completed);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path == ProbePath)
        {
            await context.Response.WriteAsync(ProbeBody);
            return;
        }
        Interlocked.Increment(ref _calls);
        var running = Interlocked.Increment(ref _running);
        int max;
        while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
        {
        }
        _started.Writer.TryWrite(context);
        try
        {
            await Handler(context);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            var completed = Interlocked.Increment(ref _completed);
            lock (_lock)
            {
                foreach (var waiter in _completionWaiters.Where(w => w.Count <= completed))
                    waiter.Reached.TrySetResult();
                _completionWaiters.RemoveAll(w => w.Count <= completed);
            }
        }
    }

    /// <summary>The context of the next call that started (in order of start).</summary>
    public Task<HttpContext> NextCallAsync() => _started.Reader.ReadAsync().AsTask().Within();

    /// <summary>Waits until <paramref name="count"/> calls in all have returned.</summary>
    public Task WaitForCompletedAsync(int count)
    {
        lock (_lock)
        {
            if (Completed >= count)
                return Task.CompletedTask;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _completionWaiters.Add((count, reached));
            return reached.Task.Within();
        }
    }

    /// <summary>Reads the request body to its end.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        return body.ToArray();
    }

    /// <summary>The default handler: 200, content-type application/grpc, the request body back, trailer grpc-status 0.</summary>
    public static async Task EchoAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context.Request);
        context.Response.ContentType = "application/grpc";
        await context.Response.Body.WriteAsync(body);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    /// <summary>A handler that answers 200 with <paramref name="body"/> without reading the request.</summary>
    public static RequestDelegate Respond(string body) => context => context.Response.WriteAsync(body);
}

/// <summary>An <see cref="Http2Server"/> on 127.0.0.1 with a <see cref="TestApp"/>, and the clients the test opened to it.</summary>
internal sealed class Http2ServerHost : IAsyncDisposable
{
    private readonly List<ScriptedHttp2Client> _clients = [];

    private Http2ServerHost(Http2ServerOptions options)
    {
        Options = options;
        Server = Http2Server.Start(new IPEndPoint(IPAddress.Loopback, 0), App.InvokeAsync, options, NullLogger.Instance);
    }

    public TestApp App { get; } = new();

    public Http2ServerOptions Options { get; }

    public Http2Server Server { get; }

    public IPEndPoint EndPoint => Server.LocalEndPoint;

    public static Http2ServerHost Start(Http2ServerOptions? options = null, RequestDelegate? handler = null)
    {
        var host = new Http2ServerHost(options ?? new Http2ServerOptions());
        if (handler is not null)
            host.App.Handler = handler;
        return host;
    }

    /// <summary>A connection without the preface sent yet.</summary>
    public async Task<ScriptedHttp2Client> ConnectAsync(int? receiveBufferSize = null, int decoderTableSize = 4096)
    {
        var client = await ScriptedHttp2Client.ConnectAsync(EndPoint, receiveBufferSize, decoderTableSize);
        lock (_clients)
            _clients.Add(client);
        return client;
    }

    /// <summary>A connection after the handshake with our <paramref name="settings"/> (see <see cref="ScriptedHttp2Client.HandshakeAsync"/>).</summary>
    public async Task<ScriptedHttp2Client> OpenAsync(params (ushort Id, uint Value)[] settings)
    {
        var client = await ConnectAsync();
        await client.HandshakeAsync(settings);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync().AsTask().Within();
        ScriptedHttp2Client[] clients;
        lock (_clients)
            clients = [.. _clients];
        foreach (var client in clients)
            await client.DisposeAsync();
    }
}

/// <summary>
/// The fake clock of <see cref="Infrastructure.FakeTimeProvider"/> with timestamps that follow it
/// (so elapsed-time arithmetic sees the fake time too), and a signal when code arms a timer.
/// </summary>
internal sealed class TestClock : TimeProvider
{
    private readonly FakeTimeProvider _inner = new();
    private readonly Lock _lock = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _armWaiters = [];
    private int _armed;

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _inner.GetUtcNow().UtcTicks;

    /// <summary>How many times a timer was created or changed with a finite due time.</summary>
    public int ArmedCount => Volatile.Read(ref _armed);

    /// <summary>Completes when timers were armed <paramref name="count"/> times in all.</summary>
    public Task WaitForArmedAsync(int count)
    {
        lock (_lock)
        {
            if (_armed >= count)
                return Task.CompletedTask;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _armWaiters.Add((count, reached));
            return reached.Task;
        }
    }

    /// <summary>Moves the clock by <paramref name="total"/> in one-second steps, firing what falls due at each.</summary>
    public void AdvanceInSteps(TimeSpan total)
    {
        var step = TimeSpan.FromSeconds(1);
        for (var moved = TimeSpan.Zero; moved < total; moved += step)
            _inner.Advance(step);
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ObservedTimer(this, _inner.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        timer.Change(dueTime, period);
        return timer;
    }

    private void OnArmed()
    {
        lock (_lock)
        {
            _armed++;
            foreach (var waiter in _armWaiters.Where(w => w.Count <= _armed))
                waiter.Reached.TrySetResult();
            _armWaiters.RemoveAll(w => w.Count <= _armed);
        }
    }

    private sealed class ObservedTimer(TestClock clock, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan)
                clock.OnArmed();
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>Bytes and text for the tests.</summary>
internal static class ServerTesting
{
    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>A value a test puts in a request to check that nothing the server writes back repeats it.</summary>
    public static string Secret() => "s3cret-" + Guid.NewGuid().ToString("N");
}
