using System.CommandLine;
using Esp.Cli;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Config;

/// <summary><c>esp validate</c> end to end through its command: what a person sees, and the exit code.</summary>
public sealed class ValidateCommandTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    [Fact]
    public async Task Validate_BookstoreAuthConfig_PrintsServiceConfigIdAndOneRowPerMethod()
    {
        var (exitCode, output, errors) = await RunAsync(ProtocDescriptors.Bookstore, ConfigTestFiles.Sample("api_config_auth.yaml"));

        Assert.Equal(0, exitCode);
        Assert.Equal("", errors);
        var lines = output.Split('\n');
        Assert.Equal("service:   bookstore.endpoints.MY_PROJECT_ID.cloud.goog (Bookstore gRPC API)", lines[0]);
        Assert.Matches("^config id: [0-9a-f]{16}$", lines[1]);
        Assert.Contains("    issuer:    SERVICE-ACCOUNT-ID", lines);
        Assert.Contains("    audiences: bookstore.endpoints.MY_PROJECT_ID.cloud.goog (the service name)", lines);
        var header = Array.FindIndex(lines, l => l.StartsWith("method ", StringComparison.Ordinal));
        Assert.True(header > 0, output);
        var rows = lines.Skip(header + 1).TakeWhile(l => l.Length > 0).ToList();
        Assert.Equal(8, rows.Count);
        var createBook = rows[0];
        Assert.StartsWith("endpoints.examples.bookstore.Bookstore.CreateBook ", createBook, StringComparison.Ordinal);
        Assert.Contains("  unary  google_service_account (iss SERVICE-ACCOUNT-ID)  not required  grpc://127.0.0.1:8081  -", createBook, StringComparison.Ordinal);
        // Aligned: every column starts where its header does.
        foreach (var column in new[] { "kind", "auth", "API key", "backend", "deadline" })
        {
            var start = lines[header].IndexOf(column, StringComparison.Ordinal);
            Assert.All(rows, row => Assert.Equal(' ', row[start - 1]));
            Assert.All(rows, row => Assert.NotEqual(' ', row[start]));
        }
        Assert.Contains("8 methods", lines);
    }

    [Fact]
    public async Task Validate_ApiKeysBackendsAndDeadlines_ShownPerMethod()
    {
        var config = _files.Write("api_config.yaml", """
            name: shelf.test
            apis:
            - name: shelf.Books
            usage:
              rules:
              - selector: shelf.Books.Get
                allow_unregistered_calls: true
              - selector: shelf.Books.Watch
                skip_service_control: true
            system_parameters:
              rules:
              - selector: shelf.Books.Upload
                parameters:
                - name: api_key
                  http_header: X-Key
            backend:
              rules:
              - selector: shelf.Books.Chat
                address: grpcs://chat.internal:443
                deadline: 1.5
                jwt_audience: https://chat.internal
            """);

        var (exitCode, output, _) = await RunAsync(ConfigTestFiles.SelectorsDescriptor, config, "--backend", "grpc://books:9000");

        Assert.Equal(0, exitCode);
        var lines = output.Split('\n');
        Assert.Contains("backend:   grpc://books:9000 (default)", lines);
        Assert.Matches(@"^shelf\.Books\.Chat\s+bidi streaming\s+none\s+required\s+grpcs://chat\.internal:443 \(jwt_audience https://chat\.internal\)\s+1\.5 s$", Row(lines, "shelf.Books.Chat"));
        Assert.Matches(@"^shelf\.Books\.Get\s+unary\s+none\s+not required\s+grpc://books:9000\s+-$", Row(lines, "shelf.Books.Get"));
        Assert.Matches(@"^shelf\.Books\.Upload\s+client streaming\s+none\s+required \(header X-Key\)\s+grpc://books:9000\s+-$", Row(lines, "shelf.Books.Upload"));
        Assert.Matches(@"^shelf\.Books\.Watch\s+server streaming\s+none\s+skipped\s+grpc://books:9000\s+-$", Row(lines, "shelf.Books.Watch"));
    }

    [Fact]
    public async Task Validate_HttpConfig_PrintsTheWarningAndExitsZero()
    {
        var config = ConfigTestFiles.Sample("api_config_http.yaml");

        var (exitCode, output, _) = await RunAsync(ProtocDescriptors.Bookstore, config);

        Assert.Equal(0, exitCode);
        Assert.Matches($"(?m)^warning: {System.Text.RegularExpressions.Regex.Escape(config)}:[0-9]+: section http is not implemented yet; ignored$", output);
    }

    [Fact]
    public async Task Validate_InvalidConfig_EveryErrorWithFileAndLineAndExitCodeTwo()
    {
        var config = _files.Write("api_config.yaml", """
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules:
              - selector: endpoints.examples.bookstore.Bookstore.Nope
                allow_unregistered_calls: true
            backend:
              rules:
              - selector: "*"
                deadline: -1
            """);

        var (exitCode, output, errors) = await RunAsync(ProtocDescriptors.Bookstore, config);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Equal(
            [
                $"{config}:6: selector 'endpoints.examples.bookstore.Bookstore.Nope' in usage.rules matches no method; the apis are endpoints.examples.bookstore.Bookstore",
                $"{config}:11: backend.rules[0].deadline is -1; a deadline is a positive number of seconds",
                "2 errors",
            ],
            errors.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Validate_MissingConfigFile_ErrorAndExitCodeTwo()
    {
        var missing = Path.Combine(Path.GetTempPath(), "esp-no-such-dir", "api_config.yaml");

        var (exitCode, _, errors) = await RunAsync(ProtocDescriptors.Bookstore, missing);

        Assert.Equal(2, exitCode);
        Assert.Equal($"{missing}: cannot read: no such file\n1 error\n", errors);
    }

    [Fact]
    public async Task Validate_ServiceJsonPath_NoDescriptorNeeded()
    {
        var json = _files.Write("service.json", """
            {"name": "echo.test", "apis": [{"name": "esp.interop.Echo", "methods": [{"name": "Unary"}]}]}
            """);

        var (exitCode, output, errors) = await RunAsync("--service_json_path", json);

        Assert.True(exitCode == 0, errors);
        Assert.Contains("esp.interop.Echo.Unary", output, StringComparison.Ordinal);
        Assert.Contains("1 method", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_NoConfig_UsageErrorAndExitCodeTwo()
    {
        var (exitCode, _, errors) = await RunAsync(ProtocDescriptors.Bookstore);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("esp validate: give the descriptor set and at least one config", errors, StringComparison.Ordinal);
    }

    private static string Row(string[] lines, string selector) =>
        Assert.Single(lines, l => l.StartsWith(selector + " ", StringComparison.Ordinal));

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] args)
    {
        using var output = new StringWriter { NewLine = "\n" };
        using var errors = new StringWriter { NewLine = "\n" };
        var exitCode = await ValidateCommand.Create().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = errors }).DefaultTimeout();
        return (exitCode, output.ToString(), errors.ToString());
    }

    public void Dispose() => _files.Dispose();
}
