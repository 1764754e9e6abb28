namespace Esp.Config;

/// <summary>
/// A rule's <c>selector</c>: a comma-separated list of patterns, each a full method name
/// (<c>package.Service.Method</c>), a prefix of whole name components ending in <c>.*</c>, or <c>*</c> alone
/// (every method). <c>a.b.*</c> matches <c>a.b.X</c> and <c>a.b.X.Y</c>, never <c>a.bc.X</c>.
/// </summary>
/// <remarks>
/// ESPv1 and ESPv2 only look selectors up exactly, because Google's config compiler expands wildcards
/// before they see the config; we read the config as the user wrote it, so we expand them here
/// (reference/esp-behaviour.md §1.7).
/// </remarks>
internal sealed class Selector
{
    private Selector(string text, SourcePosition at, IReadOnlyList<string> patterns)
    {
        Text = text;
        At = at;
        Patterns = patterns;
    }

    /// <summary>The selector as written.</summary>
    public string Text { get; }

    public SourcePosition At { get; }

    public IReadOnlyList<string> Patterns { get; }

    /// <summary>Parses a selector; null (with the errors reported) when it is missing or malformed.</summary>
    public static Selector? Parse(string? text, SourcePosition at, string path, ConfigDiagnostics diagnostics)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            diagnostics.Error(at, $"{path} is missing: name the methods the rule applies to ('*' for all)");
            return null;
        }

        var patterns = new List<string>();
        var valid = true;
        foreach (var part in text.Split(','))
        {
            var pattern = part.Trim();
            if (pattern.Length == 0)
            {
                diagnostics.Error(at, $"{path} '{text}' has an empty pattern between commas");
                valid = false;
            }
            else if (!IsWellFormed(pattern))
            {
                diagnostics.Error(at, $"{path} pattern '{pattern}' is not valid: write a method name (package.Service.Method), " +
                    "a name ending in '.*' (whole trailing components), or '*' alone");
                valid = false;
            }
            else
            {
                patterns.Add(pattern);
            }
        }
        return valid ? new Selector(text, at, patterns) : null;
    }

    /// <summary>True when any pattern matches the method (<c>package.Service.Method</c>).</summary>
    public bool Matches(string methodName)
    {
        foreach (var pattern in Patterns)
        {
            if (PatternMatches(pattern, methodName))
                return true;
        }
        return false;
    }

    public static bool PatternMatches(string pattern, string methodName)
    {
        if (pattern == "*")
            return true;
        if (pattern.EndsWith(".*", StringComparison.Ordinal))
        {
            // Keep the dot: "a.b." is a prefix of "a.b.X" but not of "a.bc.X".
            var prefix = pattern.AsSpan(0, pattern.Length - 1);
            return methodName.Length > prefix.Length && methodName.AsSpan().StartsWith(prefix, StringComparison.Ordinal);
        }
        return string.Equals(pattern, methodName, StringComparison.Ordinal);
    }

    public override string ToString() => Text;

    /// <summary>One pattern: a method name, a name ending in <c>.*</c>, or <c>*</c>.</summary>
    public static bool IsWellFormed(string pattern)
    {
        if (pattern == "*")
            return true;
        var components = pattern.Split('.');
        for (var i = 0; i < components.Length; i++)
        {
            var component = components[i];
            var isLast = i == components.Length - 1;
            if (isLast && component == "*" && i > 0)
                continue;
            if (component.Length == 0 || !component.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                return false;
        }
        return true;
    }
}
