using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Esp.Tests.Infrastructure;

/// <summary>
/// An external program the tests talk to (a Python or Node gRPC peer): run to completion with
/// its output captured, or started as a server whose port is read from its first output line.
/// </summary>
internal sealed partial class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Func<string, bool> Matches, TaskCompletionSource<string> Seen)> _waiters = [];

    private PeerProcess(Process process)
    {
        _process = process;
    }

    public int Port => _port.Task.IsCompletedSuccessfully ? _port.Task.Result : throw new InvalidOperationException("Not listening.");

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Starts a server and waits until it prints <c>listening on PORT</c>.</summary>
    public static async Task<PeerProcess> StartServerAsync(string fileName, params string[] arguments)
    {
        var peer = new PeerProcess(Start(fileName, arguments, null));
        peer.Pump();
        var exited = peer._process.WaitForExitAsync();
        var first = await Task.WhenAny(peer._port.Task, exited).DefaultTimeout();
        if (first != peer._port.Task)
            throw new InvalidOperationException($"{fileName} exited before listening:\n{peer.Output}");
        return peer;
    }

    /// <summary>Runs a program to its end; the exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        await using var peer = new PeerProcess(Start(fileName, arguments, workingDirectory));
        peer.Pump();
        using var cts = new CancellationTokenSource(timeout ?? TaskExtensions.DefaultTimeoutSpan);
        try
        {
            await peer._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in time:\n{peer.Output}");
        }
        // WaitForExitAsync also waits for the output streams to reach their end.
        return (peer._process.ExitCode, peer.Output);
    }

    private static Process Start(string fileName, IEnumerable<string> arguments, string? workingDirectory)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
    }

    private void Pump()
    {
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// The first line of output, past or future, that <paramref name="matches"/>: how a test waits for a
    /// server to say it did something in the background (such as reloading a file).
    /// </summary>
    public Task<string> WaitForLineAsync(Func<string, bool> matches)
    {
        lock (_output)
        {
            if (_output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(matches) is { } line)
                return Task.FromResult(line);
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((matches, seen));
            return seen.Task;
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var waiter in _waiters.Where(w => w.Matches(line)).ToList())
            {
                waiter.Seen.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
        var match = ListeningLine().Match(line);
        if (match.Success)
            _port.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().DefaultTimeout();
        }
        _process.Dispose();
    }

    /// <summary>Sends a POSIX signal (e.g. TERM) to the process.</summary>
    public async Task SignalAsync(string signal)
    {
        var (exitCode, output) = await RunAsync("kill", ["-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (exitCode != 0)
            throw new InvalidOperationException($"kill -s {signal} failed: {output}");
    }

    /// <summary>Waits (bounded) for the process to exit on its own; its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().DefaultTimeout();
        return _process.ExitCode;
    }

    // Our peers print "listening on PORT"; the bookstore "... listening on port PORT"; esp run "listening: http2=PORT ...".
    [GeneratedRegex(@"listening(?: on (?:port )?|: http2=)(\d+)")]
    private static partial Regex ListeningLine();
}
