using System.CommandLine;
using Esp.ApiKeys;
using Esp.Config;

namespace Esp.Tools;

/// <summary>
/// <c>esp apikeys create|list|revoke</c>: the key store of <c>esp run --api_keys=FILE</c>. The store holds only
/// hashes, so <c>create</c> prints the new key once, as the last line of its output.
/// </summary>
internal static class ApiKeysCommand
{
    /// <summary>The exit code for bad input or a broken store (as <c>esp run</c>).</summary>
    public const int BadInput = 2;

    /// <summary>The exit code of <c>revoke</c> when no active key matched.</summary>
    public const int NothingToRevoke = 1;

    public static Command Create()
    {
        var command = new Command("apikeys", "API keys: create them, list them and revoke them, in the key store esp run --api_keys reads.");
        command.Subcommands.Add(CreateCommand());
        command.Subcommands.Add(ListCommand());
        command.Subcommands.Add(RevokeCommand());
        return command;
    }

    private static readonly string[] ListHeader = ["id", "consumer", "state", "created", "expires", "methods"];

    private static Option<string?> StoreOption() =>
        new("--store") { Description = "The key store file (YAML); create makes it if it does not exist." };

    private static Command CreateCommand()
    {
        var store = StoreOption();
        var consumer = new Option<string?>("--consumer") { Description = "Who will call with the key (letters, digits, . _ - @ +); the backend learns it from X-Endpoint-API-Consumer-Name." };
        var expires = new Option<string?>("--expires") { Description = "When the key stops working: a date (2027-01-01, its start in UTC) or an RFC 3339 time." };
        var selectors = new Option<string[]>("--selectors")
        {
            Description = "Restrict the key to these methods (package.Service.Method, package.Service.*); several, or comma-separated. Default: every method.",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("create", "Creates an API key for a consumer and prints it once, as the last line: the store keeps only its SHA-256 hash.")
        {
            store, consumer, expires, selectors,
        };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var path = result.GetValue(store);
            var name = result.GetValue(consumer);
            var problems = new List<string>();
            if (string.IsNullOrEmpty(path))
                problems.Add("give the store file: --store FILE");
            if (string.IsNullOrEmpty(name))
                problems.Add("give the consumer: --consumer NAME");
            else if (ApiKeyStoreFile.ConsumerProblem(name) is { } consumerProblem)
                problems.Add("--consumer: " + consumerProblem);

            DateTimeOffset? expiry = null;
            if (result.GetValue(expires) is { } expiresText)
            {
                if (!ApiKeyStoreFile.TryParseTimestamp(expiresText, out var parsed))
                    problems.Add($"--expires: '{expiresText}' is not a date (2027-01-01) or an RFC 3339 time with a zone (2027-01-01T00:00:00Z)");
                else if (parsed <= DateTimeOffset.UtcNow)
                    problems.Add($"--expires: {ApiKeyStoreFile.FormatTimestamp(parsed)} is already past");
                else
                    expiry = parsed;
            }
            var patterns = (result.GetValue(selectors) ?? [])
                .SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            problems.AddRange(patterns.Where(p => !Selector.IsWellFormed(p))
                .Select(p => $"--selectors: '{p}' is not a method selector (package.Service.Method, package.Service.*, or *)"));
            if (problems.Count > 0)
                return Fail(error, "create", problems);

            var key = ApiKeySecrets.NewKey();
            var record = new ApiKeyRecord
            {
                Consumer = name!,
                Sha256 = ApiKeySecrets.Hash(key),
                Created = DateTimeOffset.UtcNow,
                Expires = expiry,
                Selectors = patterns,
            };
            var updated = ApiKeyStoreFile.Update(path!, keys => [.. keys, record]);
            if (updated.Store is null)
                return Fail(error, "create", updated.Errors.Select(e => $"{e} (the store is broken; fix it first)"));

            var output = result.InvocationConfiguration.Output;
            output.WriteLine($"created API key {record.Id} for consumer {record.Consumer} in {path}");
            output.WriteLine($"expires: {(expiry is { } e ? ApiKeyStoreFile.FormatTimestamp(e) : "never")}");
            output.WriteLine($"methods: {(patterns.Count == 0 ? "every method that needs a key" : string.Join(", ", patterns))}");
            output.WriteLine("The store keeps only the key's hash: copy the key now, it is not shown again.");
            output.WriteLine(key);
            return 0;
        });
        return command;
    }

    private static Command ListCommand()
    {
        var store = StoreOption();
        var command = new Command("list", "Lists the store's keys (never the keys themselves: their ids, consumers, states and limits).") { store };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            if (result.GetValue(store) is not { Length: > 0 } path)
                return Fail(error, "list", ["give the store file: --store FILE"]);
            var read = ApiKeyStoreFile.Read(path);
            if (read.Store is null)
                return Fail(error, "list", read.Errors.Select(e => e.ToString()));

            var now = DateTimeOffset.UtcNow;
            var rows = new List<string[]> { ListHeader };
            rows.AddRange(read.Store.Keys.Select(k => new[]
            {
                k.Id, k.Consumer, k.StateAt(now), ApiKeyStoreFile.FormatTimestamp(k.Created),
                k.Expires is { } expiry ? ApiKeyStoreFile.FormatTimestamp(expiry) : "never",
                k.Selectors.Count == 0 ? "all" : string.Join(", ", k.Selectors),
            }));
            var output = result.InvocationConfiguration.Output;
            TextTable.Write(rows, output);
            output.WriteLine($"{read.Store.Keys.Count} keys, {read.Store.CountActive(now)} active");
            return 0;
        });
        return command;
    }

    private static Command RevokeCommand()
    {
        var store = StoreOption();
        var consumer = new Option<string?>("--consumer") { Description = "Revoke this consumer's keys." };
        var id = new Option<string?>("--id") { Description = "Only the key with this id (as list shows it)." };
        var command = new Command("revoke", "Revokes a consumer's keys (all of them, or one with --id): a running proxy refuses them as soon as it reloads the store.")
        {
            store, consumer, id,
        };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var path = result.GetValue(store);
            var name = result.GetValue(consumer);
            var keyId = result.GetValue(id);
            if (string.IsNullOrEmpty(path) || string.IsNullOrEmpty(name))
                return Fail(error, "revoke", ["give the store and the consumer: --store FILE --consumer NAME [--id ID]"]);

            List<ApiKeyRecord> revoked = [];
            var updated = ApiKeyStoreFile.Update(path, keys =>
            {
                revoked = keys.Where(k => !k.Disabled && k.Consumer == name && (keyId is null || k.Id == keyId)).ToList();
                return revoked.Count == 0 ? null : keys.Select(k => revoked.Contains(k) ? k with { Disabled = true } : k).ToList();
            });
            if (updated.Store is null)
                return Fail(error, "revoke", updated.Errors.Select(e => e.ToString()));
            if (revoked.Count == 0)
            {
                error.WriteLine(keyId is null
                    ? $"esp apikeys revoke: consumer {name} has no active key in {path}"
                    : $"esp apikeys revoke: consumer {name} has no active key {keyId} in {path}");
                return NothingToRevoke;
            }
            result.InvocationConfiguration.Output.WriteLine($"revoked {revoked.Count} key{(revoked.Count == 1 ? "" : "s")} of consumer {name}: {string.Join(", ", revoked.Select(k => k.Id))}");
            return 0;
        });
        return command;
    }

    private static int Fail(TextWriter error, string command, IEnumerable<string> problems)
    {
        foreach (var problem in problems)
            error.WriteLine($"esp apikeys {command}: {problem}");
        return BadInput;
    }
}
