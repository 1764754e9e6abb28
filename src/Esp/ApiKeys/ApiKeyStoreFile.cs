using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Esp.Config;

namespace Esp.ApiKeys;

/// <summary>
/// The key store's file (<c>--api_keys=FILE</c>, YAML): read strictly, with every problem reported by line,
/// and written whole, atomically, by the <c>esp apikeys</c> commands.
/// </summary>
/// <example>
/// <code>
/// keys:
///   - consumer: "mobile-app"
///     sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
///     created: "2026-11-22T03:10:00Z"
///     expires: "2027-01-01T00:00:00Z"
///     selectors: ["endpoints.examples.bookstore.Bookstore.ListShelves"]
///     disabled: false
/// </code>
/// </example>
internal static partial class ApiKeyStoreFile
{
    private static readonly ConfigFileKind Kind = new(
        "not a text file: an API key store is YAML (esp apikeys create writes one)",
        "the file is empty; an API key store is a map with a 'keys:' list ('keys: []' for none)",
        "a second YAML document ('---'): an API key store is one document",
        "an API key store is a map with a 'keys:' list");

    private static readonly FieldNames RootFields = new(["keys"]);
    private static readonly FieldNames KeyFields = new(["consumer", "sha256", "created", "expires", "selectors", "disabled"]);

    private const string Header = """
        # API keys for `esp run --api_keys=FILE`. Only SHA-256 hashes of the keys are kept: a lost key
        # cannot be shown again, only revoked and replaced. Change it with `esp apikeys create|revoke`
        # or by hand; a running proxy reloads it, and keeps the last good version if it is broken.
        """;

    /// <summary>Reads the store; on any problem the result has no store and lists every problem.</summary>
    public static ApiKeyStoreReadResult Read(string path)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var problem = ex is FileNotFoundException or DirectoryNotFoundException
                ? $"does not exist: create it with esp apikeys create --store {path} --consumer NAME"
                : $"cannot be read: {ex.Message}";
            return new ApiKeyStoreReadResult(null, [new ConfigDiagnostic(SourcePosition.WholeFile(path), problem)], []);
        }
        return Parse(path, content);
    }

    public static ApiKeyStoreReadResult Parse(string path, byte[] content)
    {
        // A file without 'keys:' (empty, or comments only) is refused rather than read as "no keys": it is
        // what a reload sees while an editor rewrites the file in place, and it would refuse every caller.
        var contentHash = SHA256.HashData(content);
        var diagnostics = new ConfigDiagnostics();
        var root = ConfigFileParser.Parse(path, content, Kind, diagnostics);
        var records = new List<ApiKeyRecord>();
        if (FieldReader.Open(root, "", RootFields, diagnostics) is { } reader)
        {
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var key in reader.Maps("keys", KeyFields))
            {
                if (ReadKey(key) is not { } record)
                    continue;
                var hash = Convert.ToHexStringLower(record.Sha256);
                if (seen.TryGetValue(hash, out var line))
                {
                    key.Error("sha256", $"{key.PathOf("sha256")} is the hash of a key listed already (line {line}): each key once");
                    continue;
                }
                seen.Add(hash, key.PositionOf("sha256").Line);
                records.Add(record);
            }
        }
        return diagnostics.HasErrors
            ? new ApiKeyStoreReadResult(null, [.. diagnostics.Errors.OrderBy(e => e.Line)], contentHash)
            : new ApiKeyStoreReadResult(new ApiKeyStore(records), [], contentHash);
    }

    private static ApiKeyRecord? ReadKey(FieldReader key)
    {
        var errors = key.Diagnostics.Errors.Count;
        var consumer = key.String("consumer");
        if (!key.Has("consumer"))
            key.Error("consumer", $"{key.PathOf("consumer")} is missing: who calls with this key");
        else if (consumer is not null && ConsumerProblem(consumer) is { } problem)
            key.Error("consumer", $"{key.PathOf("consumer")} {problem}");

        var hashText = key.String("sha256");
        byte[]? hash = null;
        if (!key.Has("sha256"))
            key.Error("sha256", $"{key.PathOf("sha256")} is missing: the SHA-256 of the key, 64 hex digits (esp apikeys create writes it)");
        else if (hashText is not null && (hashText.Length != 64 || !hashText.All(char.IsAsciiHexDigit)))
            key.Error("sha256", $"{key.PathOf("sha256")} must be 64 hex digits (the SHA-256 of the key), not {hashText.Length} characters");
        else if (hashText is not null)
            hash = Convert.FromHexString(hashText);

        var created = Timestamp(key, "created");
        if (!key.Has("created"))
            key.Error("created", $"{key.PathOf("created")} is missing: when the key was made (RFC 3339, e.g. 2026-11-22T03:10:00Z)");
        var expires = Timestamp(key, "expires");

        var selectors = new List<string>();
        foreach (var node in key.List("selectors"))
        {
            if (node is ScalarNode { IsNull: false } scalar && Selector.IsWellFormed(scalar.Value))
                selectors.Add(scalar.Value);
            else
                key.Diagnostics.Error(node.Position, $"{key.PathOf("selectors")}: each item is a method selector (package.Service.Method, package.Service.*, or *)");
        }
        var disabled = key.Bool("disabled") ?? false;

        if (key.Diagnostics.Errors.Count > errors)
            return null;
        return new ApiKeyRecord
        {
            Consumer = consumer!,
            Sha256 = hash!,
            Created = created!.Value,
            Expires = expires,
            Selectors = selectors,
            Disabled = disabled,
        };
    }

    private static DateTimeOffset? Timestamp(FieldReader key, string field)
    {
        if (key.String(field) is not { } text)
            return null;
        if (TryParseTimestamp(text, out var value))
            return value;
        key.Error(field, $"{key.PathOf(field)} '{text}' is not a timestamp: write RFC 3339, e.g. 2027-01-01T00:00:00Z");
        return null;
    }

    /// <summary>RFC 3339 with a zone (<c>2027-01-01T00:00:00Z</c>), or a date alone, meaning its start in UTC.</summary>
    public static bool TryParseTimestamp(string text, out DateTimeOffset value)
    {
        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value))
            return true;
        // A zone is required: a timestamp without one would mean different instants on different machines.
        return (text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > text.IndexOf('T'))
            && text.Contains('T')
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>Null when the name may be a consumer's: it goes into a header to the backend and into logs.</summary>
    public static string? ConsumerProblem(string name) =>
        ConsumerName().IsMatch(name) ? null
            : $"'{name}' is not a valid consumer name: 1 to 128 characters of letters, digits and . _ - @ +, starting with a letter or digit";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")]
    private static partial Regex ConsumerName();

    /// <summary>The file's text for a list of keys.</summary>
    public static string Format(IReadOnlyList<ApiKeyRecord> keys)
    {
        var text = new StringBuilder(Header).Append('\n');
        if (keys.Count == 0)
            return text.Append("keys: []\n").ToString();
        text.Append("keys:\n");
        foreach (var key in keys)
        {
            // Consumers and selectors are validated to characters that need no escaping in double quotes.
            text.Append("  - consumer: \"").Append(key.Consumer).Append("\"\n");
            text.Append("    sha256: \"").Append(Convert.ToHexStringLower(key.Sha256)).Append("\"\n");
            text.Append("    created: \"").Append(FormatTimestamp(key.Created)).Append("\"\n");
            if (key.Expires is { } expires)
                text.Append("    expires: \"").Append(FormatTimestamp(expires)).Append("\"\n");
            if (key.Selectors.Count > 0)
                text.Append("    selectors: [").AppendJoin(", ", key.Selectors.Select(s => $"\"{s}\"")).Append("]\n");
            text.Append("    disabled: ").Append(key.Disabled ? "true" : "false").Append('\n');
        }
        return text.ToString();
    }

    public static string FormatTimestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Changes the store under an exclusive lock (another <c>esp apikeys</c> waits), then replaces the file
    /// atomically: a proxy reloading it sees the old version or the new one, never half of one.
    /// </summary>
    /// <param name="change">Gets the current keys (empty for a new store) and returns the new list, or null to leave the file alone.</param>
    public static ApiKeyStoreReadResult Update(string path, Func<IReadOnlyList<ApiKeyRecord>, IReadOnlyList<ApiKeyRecord>?> change)
    {
        using var _ = AcquireLock(path);
        var current = File.Exists(path) ? Read(path) : new ApiKeyStoreReadResult(ApiKeyStore.Empty, [], []);
        if (current.Store is null)
            return current;
        if (change(current.Store.Keys) is not { } keys)
            return current;

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(Format(keys)));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return new ApiKeyStoreReadResult(new ApiKeyStore(keys), [], []);
    }

    private static FileStream AcquireLock(string path)
    {
        var lockPath = path + ".lock";
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 200)
            {
                // Another esp apikeys holds the store for the few milliseconds of its change.
                Thread.Sleep(50);
            }
        }
    }
}

/// <summary>A store read from its file: the store, or every problem that kept it from being one.</summary>
/// <param name="ContentHash">SHA-256 of the file's bytes: a reload of unchanged bytes is skipped.</param>
internal sealed record ApiKeyStoreReadResult(ApiKeyStore? Store, IReadOnlyList<ConfigDiagnostic> Errors, byte[] ContentHash);
