using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Esp.Tools.Demo;

/// <summary>
/// The sample's <c>bookstore</c> program (built next to <c>esp</c> by <c>./esp</c>), run as the seeds
/// run it: the server as a background process whose log is kept, the client once per call.
/// </summary>
internal sealed partial class BookstoreProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Text, TaskCompletionSource<string> Seen)> _waiters = [];

    private BookstoreProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    /// <summary>The sample's program: <c>artifacts/bin/Bookstore/CONFIG/bookstore.dll</c>, beside <c>artifacts/bin/Esp/CONFIG</c>.</summary>
    public static string? FindProgram()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Name;
        var candidate = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "Bookstore", configuration, "bookstore.dll"));
        return File.Exists(candidate) ? candidate : null;
    }

    public static async Task<BookstoreProcess> StartServerAsync(string program, CancellationToken cancellationToken)
    {
        var server = new BookstoreProcess(Start(program, ["server", "--port", "0", "--listen", "127.0.0.1"]));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await Task.WhenAny(server._port.Task, server._process.WaitForExitAsync(timeout.Token));
        if (!server._port.Task.IsCompleted)
        {
            var log = server.Log;
            await server.DisposeAsync();
            throw new InvalidOperationException("The Bookstore server did not start:\n" + log);
        }
        return server;
    }

    public int Port => _port.Task.Result;

    /// <summary>Runs <c>bookstore client ARGS</c> and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunClientAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        using var process = Start(program, ["client", .. arguments]);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    private static Process Start(string program, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(program);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
    }

    /// <summary>
    /// Waits (bounded) until the server has logged a line containing <paramref name="text"/>: its output reaches
    /// us through a pipe, possibly after the client it answered has already exited.
    /// </summary>
    public async Task<string?> WaitForLogLineAsync(string text, CancellationToken cancellationToken)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_log)
        {
            if (FindLine(_log.ToString(), text) is { } line)
                return line;
            _waiters.Add((text, seen));
        }
        try
        {
            return await seen.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private static string? FindLine(string log, string text) =>
        log.Split('\n').Select(l => l.TrimEnd()).FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_log)
        {
            _log.AppendLine(line);
            foreach (var waiter in _waiters.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                waiter.Seen.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
        if (ListeningLine().Match(line) is { Success: true } match)
            _port.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on port (\d+)")]
    private static partial Regex ListeningLine();
}
