using System.Collections.Concurrent;
using System.Diagnostics;

namespace Esp.Tests.Infrastructure;

/// <summary>
/// Descriptor sets made by the real protoc (<c>protoc --include_imports --descriptor_set_out</c>), as users
/// make them: each proto is compiled once per test run, into a temporary directory, and its path cached.
/// </summary>
internal static class ProtocDescriptors
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> Cache = new(StringComparer.Ordinal);
    private static readonly Lazy<string> Directory = new(() => System.IO.Directory.CreateTempSubdirectory("esp-protoc-").FullName);

    /// <summary>samples/Bookstore/bookstore.proto: <c>endpoints.examples.bookstore.Bookstore</c>, eight unary methods.</summary>
    public static string Bookstore => For(Path.Combine(RepositoryPaths.Samples, "Bookstore"), "bookstore.proto");

    /// <summary>tests/protos/interop.proto: <c>esp.interop.Echo</c>, every kind of RPC.</summary>
    public static string Interop => For(RepositoryPaths.Protos, "interop.proto");

    /// <summary>The descriptor set of <paramref name="protoFile"/> (relative to <paramref name="protoPath"/>).</summary>
    public static string For(string protoPath, string protoFile) =>
        Cache.GetOrAdd(Path.Combine(protoPath, protoFile), _ => new Lazy<string>(() => Compile(protoPath, protoFile))).Value;

    private static string Compile(string protoPath, string protoFile)
    {
        var output = Path.Combine(Directory.Value, $"{Path.GetFileNameWithoutExtension(protoFile)}-{Guid.NewGuid():N}.pb");
        var start = new ProcessStartInfo("protoc")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "--include_imports", "--descriptor_set_out=" + output, "--proto_path=" + protoPath, protoFile },
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("protoc did not start.");
        var errors = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TaskExtensions.DefaultTimeoutSpan))
        {
            process.Kill();
            throw new TimeoutException($"protoc {protoFile} did not finish in time.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"protoc {protoFile} failed ({process.ExitCode}): {errors.Result}{stdout.Result}");
        return output;
    }
}
