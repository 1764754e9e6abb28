using System.Collections.Concurrent;
using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json;
using Esp.Auth.Jwt;
using Esp.Auth.Keys;
using Esp.Tests.Infrastructure;
using Esp.Tools;
using Microsoft.Extensions.Logging;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Tools;

/// <summary>A temporary directory of key files for one test.</summary>
internal sealed class KeyFiles : IDisposable
{
    public const string Email = "bookstore-client@consumer-proj.iam.gserviceaccount.com";

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("esp-keys-").FullName;

    public string PathOf(string name) => System.IO.Path.Combine(Directory, name);

    /// <summary>A new key, saved as <paramref name="name"/> (as <c>esp keys create</c> saves it).</summary>
    public ServiceAccountKey Create(string name, string email = Email)
    {
        var key = ServiceAccountKey.Create(email);
        Assert.Null(key.Save(PathOf(name), overwrite: false));
        return key;
    }

    public string Write(string name, string content)
    {
        var path = PathOf(name);
        File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>Runs a command in process with captured output, as a person would type it.</summary>
internal static class ToolCommands
{
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(Command command, params string[] args)
    {
        using var output = new StringWriter { NewLine = "\n" };
        using var errors = new StringWriter { NewLine = "\n" };
        var root = new RootCommand { command };
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = errors }).DefaultTimeout();
        return (exitCode, output.ToString(), errors.ToString());
    }

    /// <summary>The test binary's <c>esp.dll</c>, run with <c>dotnet</c>.</summary>
    public static string Esp { get; } = Path.Combine(AppContext.BaseDirectory, "esp.dll");
}

/// <summary>Reading tokens and key documents the way the proxy does.</summary>
internal static class ProxyView
{
    /// <summary>Parses the document with the proxy's KeySetParser and verifies the token's signature with it.</summary>
    public static void AssertVerifies(byte[] document, string token)
    {
        var keys = KeySetParser.Parse(document, out var problem, out var skipped);
        Assert.True(keys is not null, problem);
        Assert.Equal(0, skipped);
        Assert.True(JwtParser.TryParse(token, out var parsed, out var failure), failure.ToString());
        Assert.Null(keys.Verify(parsed));
    }

    public static JsonElement Header(string token) => Segment(token, 0);

    public static JsonElement Payload(string token) => Segment(token, 1);

    /// <summary>A segment's JSON exactly as it was written.</summary>
    public static string RawSegment(string token, int index)
    {
        Assert.True(Base64Url.TryDecode(token.Split('.')[index], out var bytes), "not strict base64url");
        return Encoding.UTF8.GetString(bytes);
    }

    private static JsonElement Segment(string token, int index)
    {
        using var document = JsonDocument.Parse(RawSegment(token, index));
        return document.RootElement.Clone();
    }
}

/// <summary>tests/peers/service_accounts.py, run with Debian's Python (google-auth, PyJWT).</summary>
internal static class ServiceAccountsPeer
{
    private static string Script => Path.Combine(RepositoryPaths.Peers, "service_accounts.py");

    /// <summary>Runs a command that must succeed; its JSON output.</summary>
    public static async Task<JsonElement> RunAsync(params string[] arguments)
    {
        var (exitCode, output) = await PeerProcess.RunAsync(RepositoryPaths.Python, [Script, .. arguments]);
        Assert.True(exitCode == 0, $"service_accounts.py {arguments[0]} failed:\n{output}");
        // The JSON is the last line (Python may warn on stderr before it).
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last(l => l.StartsWith('{'));
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    /// <summary>Runs a command expected to fail; what it said.</summary>
    public static async Task<string> FailAsync(params string[] arguments)
    {
        var (exitCode, output) = await PeerProcess.RunAsync(RepositoryPaths.Python, [Script, .. arguments]);
        Assert.True(exitCode != 0, $"service_accounts.py {arguments[0]} succeeded:\n{output}");
        return output;
    }
}

/// <summary>A key server in process, its log captured.</summary>
internal static class TestKeyServer
{
    public static Task<KeyServer> StartAsync(string directory, CapturedLog log) =>
        KeyServer.StartAsync(directory, IPAddress.Loopback, 0, logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(log);
        }).DefaultTimeout();
}

/// <summary>Log lines kept for assertions ("LEVEL: message").</summary>
internal sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Waits until the lines logged so far satisfy <paramref name="condition"/> (checked after every line).</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<string>, bool> condition, TimeSpan timeout)
    {
        using var bound = new CancellationTokenSource(timeout);
        while (true)
        {
            var added = Volatile.Read(ref _added);
            if (condition(Lines))
                return;
            await added.Task.WaitAsync(bound.Token);
        }
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        Interlocked.Exchange(ref _added, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Add($"{logLevel}: {formatter(state, exception)}");
    }
}
