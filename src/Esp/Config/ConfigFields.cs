using System.Globalization;
using System.Text;

namespace Esp.Config;

/// <summary>
/// The field names of one kind of map (a provider, a usage rule, ...), in snake_case. The proto JSON mapping's
/// lowerCamelCase spelling of each is accepted too (<c>jwks_uri</c> and <c>jwksUri</c>), as protojson does.
/// </summary>
internal sealed class FieldNames
{
    private readonly Dictionary<string, string> _bySpelling = new(StringComparer.Ordinal);
    private readonly HashSet<string> _notImplemented = new(StringComparer.Ordinal);

    /// <param name="read">Fields this version reads.</param>
    /// <param name="notImplemented">Fields of the google.api schema it does not act on yet: a warning, then ignored.</param>
    /// <param name="unknownIsWarning">The top level: unknown sections are warned about, not errors.</param>
    public FieldNames(string[] read, string[]? notImplemented = null, bool unknownIsWarning = false)
    {
        Read = read;
        UnknownIsWarning = unknownIsWarning;
        foreach (var name in read.Concat(notImplemented ?? []))
        {
            _bySpelling[name] = name;
            _bySpelling[ToLowerCamel(name)] = name;
        }
        _notImplemented.UnionWith(notImplemented ?? []);
    }

    public IReadOnlyList<string> Read { get; }

    public bool UnknownIsWarning { get; }

    /// <summary>The snake_case name of a key as written, or null for a field the schema does not have.</summary>
    public string? Resolve(string key) => _bySpelling.GetValueOrDefault(key);

    public bool IsImplemented(string name) => !_notImplemented.Contains(name);

    private static string ToLowerCamel(string snake)
    {
        var builder = new StringBuilder(snake.Length);
        var upper = false;
        foreach (var c in snake)
        {
            if (c == '_')
            {
                upper = true;
                continue;
            }
            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return builder.ToString();
    }
}

/// <summary>
/// The fields of one map of a config file, read by name with their types checked. Unknown fields are errors
/// that list the allowed names; every problem is reported and reading goes on with what is valid.
/// </summary>
internal sealed class FieldReader
{
    private readonly Dictionary<string, KeyValuePair<ScalarNode, ConfigNode>> _fields = new(StringComparer.Ordinal);
    private readonly HashSet<string> _invalid = new(StringComparer.Ordinal);
    private FieldReader(MappingNode map, string context, ConfigDiagnostics diagnostics)
    {
        Position = map.Position;
        Context = context;
        Diagnostics = diagnostics;
    }

    /// <summary>Where the map starts.</summary>
    public SourcePosition Position { get; }

    /// <summary>The map's path in the config, for messages: <c>authentication.providers[1]</c>.</summary>
    public string Context { get; }

    public ConfigDiagnostics Diagnostics { get; }

    /// <summary>
    /// Opens a map. Null when the node is absent or null (nothing given), or not a map (reported).
    /// </summary>
    public static FieldReader? Open(ConfigNode? node, string context, FieldNames names, ConfigDiagnostics diagnostics)
    {
        if (node is null or ScalarNode { IsNull: true })
            return null;
        if (node is not MappingNode map)
        {
            diagnostics.Error(node.Position, $"{context} must be a map (fields: {string.Join(", ", names.Read)}), not {node.Kind}");
            return null;
        }

        var reader = new FieldReader(map, context, diagnostics);
        foreach (var entry in map.Entries)
        {
            var key = entry.Key;
            var name = names.Resolve(key.Value);
            if (name is null && names.UnknownIsWarning)
            {
                diagnostics.Warning(key.Position, $"unknown section '{key.Value}'; ignored");
                continue;
            }
            if (name is null)
            {
                diagnostics.Error(key.Position, $"unknown field '{key.Value}' in {context}; allowed: {string.Join(", ", names.Read)}");
                continue;
            }
            if (reader._fields.TryGetValue(name, out var first))
            {
                diagnostics.Error(key.Position, $"{reader.PathOf(name)} is given twice (also on line {first.Key.Position.Line})");
                continue;
            }
            if (!names.IsImplemented(name))
            {
                diagnostics.Warning(key.Position, context.Length == 0
                    ? $"section {name} is not implemented yet; ignored"
                    : $"{context}.{name} is not implemented yet; ignored");
                continue;
            }
            reader._fields.Add(name, entry);
        }
        return reader;
    }

    /// <summary>A field's path in the config, for messages: <c>backend.rules[0].deadline</c>.</summary>
    public string PathOf(string field) => Context.Length == 0 ? field : $"{Context}.{field}";

    /// <summary>The position of a field's key, or of the map when the field is absent.</summary>
    public SourcePosition PositionOf(string field) =>
        _fields.TryGetValue(field, out var entry) ? entry.Key.Position : Position;

    /// <summary>True when the field's key is there, even with nothing after it.</summary>
    public bool IsPresent(string field) => _fields.ContainsKey(field);

    /// <summary>True when the field's value was of the wrong type (reported): "missing" errors should not follow.</summary>
    public bool IsInvalid(string field) => _invalid.Contains(field);

    /// <summary>True when the field is given with a non-null value.</summary>
    public bool Has(string field) => Node(field) is not null;

    /// <summary>The field's node; null when absent or null.</summary>
    public ConfigNode? Node(string field) =>
        _fields.TryGetValue(field, out var entry) && entry.Value is not ScalarNode { IsNull: true } ? entry.Value : null;

    public string? String(string field)
    {
        switch (Node(field))
        {
            case null:
                return null;
            case ScalarNode scalar:
                return scalar.Value;
            case var other:
                Invalid(field, other, $"{PathOf(field)} must be a string, not {other.Kind}");
                return null;
        }
    }

    /// <summary>A boolean: <c>true</c> or <c>false</c> (quoted too, as protojson allows).</summary>
    public bool? Bool(string field)
    {
        var node = Node(field);
        if (node is null)
            return null;
        if (node is ScalarNode scalar)
        {
            if (scalar.Value.Equals("true", StringComparison.OrdinalIgnoreCase))
                return true;
            if (scalar.Value.Equals("false", StringComparison.OrdinalIgnoreCase))
                return false;
        }
        Invalid(field, node, $"{PathOf(field)} must be true or false, not {Describe(node)}");
        return null;
    }

    /// <summary>A number (quoted too, as protojson allows); NaN and infinities are refused.</summary>
    public double? Double(string field)
    {
        var node = Node(field);
        if (node is null)
            return null;
        if (node is ScalarNode scalar
            && double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value))
        {
            return value;
        }
        Invalid(field, node, $"{PathOf(field)} must be a number, not {Describe(node)}");
        return null;
    }

    public long? Integer(string field)
    {
        var node = Node(field);
        if (node is null)
            return null;
        if (node is ScalarNode scalar && long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return value;
        Invalid(field, node, $"{PathOf(field)} must be a whole number, not {Describe(node)}");
        return null;
    }

    /// <summary>A map field.</summary>
    public FieldReader? Map(string field, FieldNames names) => Open(Node(field), PathOf(field), names, Diagnostics);

    /// <summary>The items of a list field; empty when absent, null or not a list (reported).</summary>
    public IReadOnlyList<ConfigNode> List(string field)
    {
        switch (Node(field))
        {
            case null:
                return [];
            case SequenceNode sequence:
                return sequence.Items;
            case var other:
                Invalid(field, other, $"{PathOf(field)} must be a list, not {Describe(other)}");
                return [];
        }
    }

    /// <summary>A list of maps: <c>rules:</c>, <c>providers:</c>. Items that are not maps are reported and skipped.</summary>
    public IReadOnlyList<FieldReader> Maps(string field, FieldNames names)
    {
        var items = List(field);
        var readers = new List<FieldReader>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var context = $"{PathOf(field)}[{i}]";
            if (item is ScalarNode { IsNull: true })
            {
                Error(item, $"{context} is empty");
                continue;
            }
            if (Open(item, context, names, Diagnostics) is { } reader)
                readers.Add(reader);
        }
        return readers;
    }

    /// <summary>Reports an error about this map as a whole or one of its fields.</summary>
    public void Error(string field, string message) => Diagnostics.Error(PositionOf(field), message);

    public void Warning(string field, string message) => Diagnostics.Warning(PositionOf(field), message);

    private void Error(ConfigNode node, string message) => Diagnostics.Error(node.Position, message);

    private void Invalid(string field, ConfigNode node, string message)
    {
        _invalid.Add(field);
        Diagnostics.Error(node.Position, message);
    }

    private static string Describe(ConfigNode node) => node is ScalarNode scalar ? $"'{scalar.Value}'" : node.Kind;
}
