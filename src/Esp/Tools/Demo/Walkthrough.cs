using System.Globalization;
using System.Net;
using System.Text.Json;
using Esp.Cli;
using Esp.Config;
using Esp.Hosting;
using Microsoft.Extensions.Logging;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tools.Demo;

/// <summary>
/// The steps of "Authentication between services", as the seeds tell them, with the Google Cloud
/// parts done locally: the key is made by <c>esp keys create</c>'s code, Google's key publishing by
/// the key server, <c>gcloud endpoints services deploy</c>'s checks by <c>esp validate</c>. Each step
/// says what it does and checks that it behaved as the seeds say. Everything started is stopped
/// and everything written is deleted, whatever happens.
/// </summary>
internal sealed class Walkthrough(TextWriter output, bool keepDirectory) : IAsyncDisposable
{
    private const string ConsumerEmail = "bookstore-client@demo-consumer.iam.gserviceaccount.com";
    private const string IntruderEmail = "someone-else@other-project.iam.gserviceaccount.com";
    private const string ProjectId = "demo-producer";

    private readonly string _directory = Directory.CreateTempSubdirectory("esp-demo-").FullName;
    private readonly List<IAsyncDisposable> _started = [];
    private int _step;
    private int _failures;

    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunStepsAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Fail($"the walkthrough stopped: {ex.Message}");
        }
        output.WriteLine();
        output.WriteLine(_failures == 0
            ? "Every step behaved as the walkthrough says."
            : $"{_failures} check{(_failures == 1 ? "" : "s")} did not behave as the walkthrough says.");
        return _failures == 0;
    }

    private async Task RunStepsAsync(CancellationToken cancellationToken)
    {
        var bookstore = BookstoreProcess.FindProgram()
            ?? throw new InvalidOperationException("the Bookstore sample is not built: run the demo through ./esp, which builds it.");
        var descriptor = Path.Combine(Path.GetDirectoryName(bookstore)!, "api_descriptor.pb");
        var sampleConfig = FindSampleConfig("api_config_auth.yaml");

        Step("Create a service account key for the consumer (the Cloud console's 'Create key', JSON)");
        var keys = Directory.CreateDirectory(Path.Combine(_directory, "keys")).FullName;
        using var consumer = ServiceAccountKey.Create(ConsumerEmail);
        var consumerFile = Path.Combine(keys, "consumer.json");
        if (consumer.Save(consumerFile, overwrite: false) is { } notSaved)
            throw new InvalidOperationException(notSaved);
        Say($"wrote {consumerFile}: {consumer.ClientEmail}, key id {consumer.PrivateKeyId}");

        Step("Publish the account's public keys, as Google does for every service account");
        var keyServer = Track(await KeyServer.StartAsync(keys, IPAddress.Loopback, 0, Quiet, cancellationToken));
        var x509 = keyServer.X509Url(ConsumerEmail);
        using (var http = new HttpClient())
        {
            var published = await http.GetStringAsync(x509, cancellationToken);
            Check(published.Contains(consumer.PrivateKeyId, StringComparison.Ordinal), $"{x509} serves the certificate of key {consumer.PrivateKeyId}");
        }

        Step("Start the Bookstore backend (bookstore server)");
        var backend = Track(await BookstoreProcess.StartServerAsync(bookstore, cancellationToken));
        Say($"the Bookstore listens on 127.0.0.1:{backend.Port}");

        Step("Fill in api_config_auth.yaml: the issuer and jwks_uri of the consumer's service account");
        var config = Path.Combine(_directory, "api_config_auth.yaml");
        var text = (await File.ReadAllTextAsync(sampleConfig, cancellationToken))
            .Replace("https://www.googleapis.com", keyServer.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
            .Replace("SERVICE-ACCOUNT-ID", ConsumerEmail, StringComparison.Ordinal)
            .Replace("MY_PROJECT_ID", ProjectId, StringComparison.Ordinal);
        await File.WriteAllTextAsync(config, text, cancellationToken);
        foreach (var line in text.Split('\n').Where(l => l.TrimStart().StartsWith("name:", StringComparison.Ordinal) || l.Contains("issuer:", StringComparison.Ordinal) || l.Contains("jwks_uri:", StringComparison.Ordinal)))
            Say(line.Trim());

        Step("Check the configuration against the API's descriptor (what 'gcloud endpoints services deploy' checks)");
        var validated = await EspCommand.Create().Parse(["validate", descriptor, config, "--backend", $"grpc://127.0.0.1:{backend.Port}"]).InvokeAsync(new() { Output = new IndentedWriter(output), Error = new IndentedWriter(output) }, cancellationToken);
        Check(validated == 0, "esp validate accepts the configuration");

        Step("Start the proxy in front of the backend (esp run --http2_port=0 --backend=grpc://127.0.0.1:PORT)");
        var loaded = ServiceConfigLoader.Load(new ConfigSources { ServiceConfigPaths = [config], DescriptorPath = descriptor, DefaultBackend = $"grpc://127.0.0.1:{backend.Port}" });
        if (!loaded.Succeeded)
            throw new InvalidOperationException("the configuration does not load: " + string.Join("; ", loaded.Errors));
        var proxy = Track(await ProxyHost.StartAsync(new ProxyOptions { Http2Port = 0, ListenerAddress = IPAddress.Loopback }, loaded.Model, Quiet));
        var proxyPort = proxy.Ports["http2"].ToString(CultureInfo.InvariantCulture);
        Say($"{proxy.ListeningLine}, serving {loaded.Model.Name}");

        Step("Generate a JWT from the consumer's key (jwt_token_gen.py --file consumer.json --issuer EMAIL --audiences SERVICE)");
        var token = TokenSigner.Sign(consumer, ConsumerEmail, [loaded.Model.Name]);
        Say($"TOKEN={token[..24]}... ({token.Length} characters, RS256, kid {consumer.PrivateKeyId})");

        Step("Call ListShelves through the proxy with the token (bookstore client --auth_token $TOKEN)");
        var withToken = await BookstoreProcess.RunClientAsync(bookstore, ["--host", "127.0.0.1", "--port", proxyPort, "--auth_token", token], cancellationToken);
        Say(withToken.Output);
        Check(withToken.ExitCode == 0 && withToken.Output.Contains("\"Fiction\"", StringComparison.Ordinal), "the call with the token lists the shelves");

        Step("Call ListShelves without a token");
        var withoutToken = await BookstoreProcess.RunClientAsync(bookstore, ["--host", "127.0.0.1", "--port", proxyPort], cancellationToken);
        Say(withoutToken.Output);
        Check(withoutToken.ExitCode != 0 && withoutToken.Output.Contains("Unauthenticated: JWT validation failed: Jwt is missing", StringComparison.Ordinal),
            "the call without a token is refused: Jwt is missing");

        Step("Call ListShelves with a token of another service account (its keys published too)");
        using var intruder = ServiceAccountKey.Create(IntruderEmail);
        if (intruder.Save(Path.Combine(keys, "intruder.json"), overwrite: false) is { } intruderNotSaved)
            throw new InvalidOperationException(intruderNotSaved);
        var intruderToken = TokenSigner.Sign(intruder, IntruderEmail, [loaded.Model.Name]);
        var wrongAccount = await BookstoreProcess.RunClientAsync(bookstore, ["--host", "127.0.0.1", "--port", proxyPort, "--auth_token", intruderToken], cancellationToken);
        Say(wrongAccount.Output);
        Check(wrongAccount.ExitCode != 0 && wrongAccount.Output.Contains("Unauthenticated: JWT validation failed: Jwt issuer is not configured", StringComparison.Ordinal),
            "the other account's token is refused: its issuer is not configured");

        Step("What the backend learned about the caller: X-Endpoint-API-UserInfo, from the Bookstore's log");
        var userInfo = await backend.WaitForLogLineAsync("X-Endpoint-API-UserInfo = ", cancellationToken);
        var json = userInfo?[(userInfo.IndexOf("X-Endpoint-API-UserInfo = ", StringComparison.Ordinal) + "X-Endpoint-API-UserInfo = ".Length)..];
        if (json is not null)
            Say(Pretty(json));
        Check(json is not null && json.Contains($"\"id\":\"{ConsumerEmail}\"", StringComparison.Ordinal), "the backend received the caller's identity");
        Check(backend.Log.Split('\n').Count(l => l.Contains("ListShelves", StringComparison.Ordinal)) == 1, "the refused calls never reached the backend");

        await ApiKeysAsync(bookstore, descriptor, backend, cancellationToken);
    }

    /// <summary>Beyond the seeds: the sample's api_config.yaml, whose methods other than ListShelves need an API key.</summary>
    private async Task ApiKeysAsync(string bookstore, string descriptor, BookstoreProcess backend, CancellationToken cancellationToken)
    {
        var store = Path.Combine(_directory, "keys.yaml");
        Step("Beyond the seeds, API keys: create a key for a consumer (esp apikeys create --store keys.yaml --consumer bookstore-web)");
        var created = new StringWriter();
        var exitCode = await EspCommand.Create().Parse(["apikeys", "create", "--store", store, "--consumer", "bookstore-web"]).InvokeAsync(new() { Output = created, Error = created }, cancellationToken);
        var key = created.ToString().TrimEnd().Split('\n')[^1].Trim();
        Say(created.ToString().TrimEnd().Replace(key, key[..8] + "...", StringComparison.Ordinal));
        Check(exitCode == 0 && key.StartsWith(ApiKeys.ApiKeySecrets.Prefix, StringComparison.Ordinal), "the key is printed once; keys.yaml holds only its SHA-256");

        Step("Start a proxy with the sample's api_config.yaml (only ListShelves is open) and --api_keys=keys.yaml");
        var loaded = ServiceConfigLoader.Load(new ConfigSources { ServiceConfigPaths = [FindSampleConfig("api_config.yaml")], DescriptorPath = descriptor, DefaultBackend = $"grpc://127.0.0.1:{backend.Port}" });
        if (!loaded.Succeeded)
            throw new InvalidOperationException("api_config.yaml does not load: " + string.Join("; ", loaded.Errors));
        var proxy = Track(await ProxyHost.StartAsync(new ProxyOptions
        {
            Http2Port = 0,
            ListenerAddress = IPAddress.Loopback,
            ApiKeys = new ApiKeyStoreOptions(store, ApiKeys.ApiKeyStoreFile.Read(store)),
        }, loaded.Model, Quiet));
        var port = proxy.Ports["http2"].ToString(CultureInfo.InvariantCulture);
        Say(proxy.ListeningLine);

        Step("Call CreateShelf without a key (bookstore client --call CreateShelf --theme Poetry)");
        string[] createShelf = ["--host", "127.0.0.1", "--port", port, "--call", "CreateShelf", "--theme", "Poetry"];
        var withoutKey = await BookstoreProcess.RunClientAsync(bookstore, createShelf, cancellationToken);
        Say(withoutKey.Output);
        Check(withoutKey.ExitCode != 0 && withoutKey.Output.Contains("Unauthenticated: Method doesn't allow unregistered callers", StringComparison.Ordinal),
            "the call without a key is refused: unregistered callers are not allowed");

        Step("Call CreateShelf with the key (bookstore client --api_key $KEY ...)");
        var withKey = await BookstoreProcess.RunClientAsync(bookstore, [.. createShelf, "--api_key", key], cancellationToken);
        Say(withKey.Output);
        Check(withKey.ExitCode == 0 && withKey.Output.Contains("\"Poetry\"", StringComparison.Ordinal), "the call with the key creates the shelf");
        Check(await backend.WaitForLogLineAsync("CreateShelf: API consumer bookstore-web", cancellationToken) is not null, "the backend learned the consumer (X-Endpoint-API-Consumer-Name)");

        Step("Revoke the key while the proxy runs (esp apikeys revoke --store keys.yaml --consumer bookstore-web)");
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.ApiKeys!.Reloaded += _ => reloaded.TrySetResult();
        var revoked = new StringWriter();
        exitCode = await EspCommand.Create().Parse(["apikeys", "revoke", "--store", store, "--consumer", "bookstore-web"]).InvokeAsync(new() { Output = revoked, Error = revoked }, cancellationToken);
        Say(revoked.ToString().TrimEnd());
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        Say("the proxy reloaded keys.yaml");
        var afterRevoke = await BookstoreProcess.RunClientAsync(bookstore, [.. createShelf, "--api_key", key], cancellationToken);
        Say(afterRevoke.Output);
        Check(exitCode == 0 && afterRevoke.ExitCode != 0 && afterRevoke.Output.Contains("InvalidArgument: API key not valid. Please pass a valid API key.", StringComparison.Ordinal),
            "the revoked key is refused: API key not valid");
    }

    private static string FindSampleConfig(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "Bookstore", name);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new InvalidOperationException($"samples/Bookstore/{name} was not found above the esp program.");
    }

    private static string Pretty(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(document.RootElement, PrettyJson);
        }
        catch (JsonException)
        {
            return json;
        }
    }

    private static readonly JsonSerializerOptions PrettyJson = new() { WriteIndented = true };

    private static void Quiet(ILoggingBuilder logging) => logging.ClearProviders();

    private T Track<T>(T started)
        where T : IAsyncDisposable
    {
        _started.Add(started);
        return started;
    }

    private void Step(string title)
    {
        output.WriteLine();
        output.WriteLine($"Step {++_step}. {title}");
    }

    private void Say(string text)
    {
        foreach (var line in text.Split('\n'))
            output.WriteLine("    " + line.TrimEnd());
    }

    private void Check(bool passed, string what)
    {
        if (passed)
            output.WriteLine($"  ✓ {what}");
        else
            Fail(what);
    }

    private void Fail(string what)
    {
        _failures++;
        output.WriteLine($"  ✗ {what}");
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
            await _started[i].DisposeAsync();
        if (keepDirectory)
            output.WriteLine($"The demo's files are in {_directory}.");
        else
            Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Indents what a nested command prints, so the narration stays readable.</summary>
    private sealed class IndentedWriter(TextWriter inner) : TextWriter
    {
        private bool _atLineStart = true;

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (_atLineStart && value != '\n')
                inner.Write("    ");
            inner.Write(value);
            _atLineStart = value == '\n';
        }
    }
}
