using Esp.Auth.ServiceAccounts;
namespace Esp.Tools;

/// <summary>
/// The service account key files of a directory, rescanned on demand: a file whose modification time
/// and size are unchanged is not read again, so a rescan per request costs one directory listing.
/// Only public parts are kept; private keys are dropped once read.
/// </summary>
internal sealed class KeyDirectory(string directory)
{
    /// <summary>Key files are a few KiB; anything much larger is not one (and is not read).</summary>
    private const long MaxKeyFileBytes = 64 * 1024;

    private readonly Lock _lock = new();
    private Dictionary<string, FileEntry> _files = new(StringComparer.Ordinal);
    private bool _missing;

    public string Path { get; } = System.IO.Path.GetFullPath(directory);

    /// <summary>The accounts published after the last rescan.</summary>
    public KeySnapshot Current { get; private set; } = KeySnapshot.Empty;

    /// <summary>Rereads what changed in the directory; the new state and what changed.</summary>
    public (KeySnapshot Snapshot, IReadOnlyList<KeyDirectoryChange> Changes) Refresh()
    {
        lock (_lock)
        {
            var changes = new List<KeyDirectoryChange>();
            var files = new Dictionary<string, FileEntry>(StringComparer.Ordinal);
            if (!ListFiles(out var found))
            {
                if (!_missing)
                    changes.Add(new KeyDirectoryChange(KeyDirectoryChangeKind.DirectoryMissing, Path, null, $"{Path} does not exist"));
                _missing = true;
            }
            else
            {
                _missing = false;
                foreach (var file in found)
                {
                    if (_files.TryGetValue(file.FullName, out var known) && known.Modified == file.LastWriteTimeUtc && known.Length == file.Length)
                    {
                        files[file.FullName] = known;
                        continue;
                    }
                    var entry = Read(file);
                    files[file.FullName] = entry;
                    if (known?.Key is { } replaced && replaced.KeyId != entry.Key?.KeyId)
                        changes.Add(new KeyDirectoryChange(KeyDirectoryChangeKind.Removed, file.FullName, replaced, null));
                    if (entry.Key is null)
                        changes.Add(new KeyDirectoryChange(KeyDirectoryChangeKind.Ignored, file.FullName, null, entry.Problem));
                    else if (known?.Key != entry.Key)
                        changes.Add(new KeyDirectoryChange(KeyDirectoryChangeKind.Published, file.FullName, entry.Key, null));
                }
            }
            foreach (var (path, gone) in _files)
            {
                if (!files.ContainsKey(path) && gone.Key is not null)
                    changes.Add(new KeyDirectoryChange(KeyDirectoryChangeKind.Removed, path, gone.Key, null));
            }
            var changed = changes.Count > 0 || files.Count != _files.Count;
            _files = files;
            if (changed)
                Current = Build(files, changes);
            return (Current, changes);
        }
    }

    private bool ListFiles(out List<FileInfo> files)
    {
        files = [];
        try
        {
            // Hidden files are skipped: editors' swap files, and the temporary file `esp keys create` renames into place.
            foreach (var file in new DirectoryInfo(Path).EnumerateFiles())
            {
                if (!file.Name.StartsWith('.'))
                    files.Add(file);
            }
            files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static FileEntry Read(FileInfo file)
    {
        if (file.Length > MaxKeyFileBytes)
            return new FileEntry(file.LastWriteTimeUtc, file.Length, null, $"{file.FullName}: not a service account key file: larger than {MaxKeyFileBytes / 1024} KiB");
        using var key = ServiceAccountKey.Load(file.FullName, out var problem);
        if (key is null)
            return new FileEntry(file.LastWriteTimeUtc, file.Length, null, problem);
        // The certificate's validity starts an hour before the file was written: the same file always gets the same certificate.
        var published = PublishedKey.From(key, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero).AddHours(-1));
        return new FileEntry(file.LastWriteTimeUtc, file.Length, published, null);
    }

    private static KeySnapshot Build(Dictionary<string, FileEntry> files, List<KeyDirectoryChange> changes)
    {
        var accounts = new Dictionary<string, List<PublishedKey>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (path, entry) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (entry.Key is not { } key)
                continue;
            if (!accounts.TryGetValue(key.Email, out var keys))
                accounts[key.Email] = keys = [];
            if (keys.Any(k => k.KeyId == key.KeyId))
            {
                changes.Add(new KeyDirectoryChange(KeyDirectoryChangeKind.Ignored, path, null,
                    $"{path}: key {key.KeyId} of {key.Email} is already published from another file"));
                continue;
            }
            keys.Add(key);
        }
        return new KeySnapshot(accounts.ToDictionary(a => a.Key, a => new PublishedAccount(a.Key, a.Value), StringComparer.OrdinalIgnoreCase));
    }

    private sealed record FileEntry(DateTime Modified, long Length, PublishedKey? Key, string? Problem);
}

/// <summary>The keys published at one moment, by account email (case-insensitive).</summary>
internal sealed class KeySnapshot(IReadOnlyDictionary<string, PublishedAccount> accounts)
{
    public static readonly KeySnapshot Empty = new(new Dictionary<string, PublishedAccount>());

    public IReadOnlyDictionary<string, PublishedAccount> Accounts { get; } = accounts;

    public IEnumerable<PublishedKey> Keys => Accounts.Values.OrderBy(a => a.Email, StringComparer.Ordinal).SelectMany(a => a.Keys);
}

/// <summary>One account's keys and the two documents that publish them (built once per change).</summary>
internal sealed class PublishedAccount(string email, IReadOnlyList<PublishedKey> keys)
{
    public string Email { get; } = email;

    public IReadOnlyList<PublishedKey> Keys { get; } = keys;

    public byte[] CertificateMap { get; } = PublicKeyDocuments.CertificateMap(keys);

    public byte[] Jwks { get; } = PublicKeyDocuments.Jwks(keys);
}

internal enum KeyDirectoryChangeKind
{
    Published,
    Removed,
    Ignored,
    DirectoryMissing,
}

internal sealed record KeyDirectoryChange(KeyDirectoryChangeKind Kind, string File, PublishedKey? Key, string? Problem);
