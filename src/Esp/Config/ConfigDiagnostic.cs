namespace Esp.Config;

/// <summary>Where something is in a config input: a file and a 1-based line (0 for the file as a whole).</summary>
internal readonly record struct SourcePosition(string File, int Line)
{
    public static SourcePosition WholeFile(string file) => new(file, 0);
}

/// <summary>
/// One problem found in the config inputs, printed <c>FILE:LINE: message</c> (or <c>FILE: message</c>).
/// <see cref="File"/> is the path as the user gave it, or the flag (<c>--backend</c>) the value came from.
/// </summary>
internal sealed record ConfigDiagnostic(string File, int Line, string Message)
{
    public ConfigDiagnostic(SourcePosition at, string message)
        : this(at.File, at.Line, message)
    {
    }

    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Message}" : $"{File}: {Message}";
}

/// <summary>Collects errors and warnings while the config is read: validation goes on after the first error.</summary>
internal sealed class ConfigDiagnostics
{
    private readonly List<ConfigDiagnostic> _errors = [];
    private readonly List<ConfigDiagnostic> _warnings = [];
    private readonly HashSet<ConfigDiagnostic> _seenWarnings = [];

    public IReadOnlyList<ConfigDiagnostic> Errors => _errors;

    public IReadOnlyList<ConfigDiagnostic> Warnings => _warnings;

    public bool HasErrors => _errors.Count > 0;

    public void Error(SourcePosition at, string message) => _errors.Add(new ConfigDiagnostic(at, message));

    /// <summary>Adds a warning unless the same one (same place, same words) was already given.</summary>
    public void Warning(SourcePosition at, string message)
    {
        var warning = new ConfigDiagnostic(at, message);
        if (_seenWarnings.Add(warning))
            _warnings.Add(warning);
    }
}
