namespace Esp.Config;

/// <summary>
/// A node of a parsed config file (YAML, or JSON read as YAML) that remembers where it was, so that every
/// error can name its file and line. Maps keep their keys in file order.
/// </summary>
internal abstract class ConfigNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    /// <summary>What the node is, for messages: "a map", "a list", "a value".</summary>
    public abstract string Kind { get; }
}

internal sealed class MappingNode(SourcePosition position, IReadOnlyList<KeyValuePair<ScalarNode, ConfigNode>> entries)
    : ConfigNode(position)
{
    public IReadOnlyList<KeyValuePair<ScalarNode, ConfigNode>> Entries { get; } = entries;

    public override string Kind => "a map";
}

internal sealed class SequenceNode(SourcePosition position, IReadOnlyList<ConfigNode> items) : ConfigNode(position)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;

    public override string Kind => "a list";
}

/// <summary>A scalar as written. Whether it is a string, number or boolean is decided by the field that reads it.</summary>
internal sealed class ScalarNode(SourcePosition position, string value, bool quoted) : ConfigNode(position)
{
    public string Value { get; } = value;

    /// <summary>Written in quotes (or as a JSON string): never null, and never a YAML keyword.</summary>
    public bool Quoted { get; } = quoted;

    /// <summary><c>key:</c> with nothing after it, <c>~</c> or <c>null</c>: the field is treated as not given.</summary>
    public bool IsNull => !Quoted && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Kind => IsNull ? "null" : "a value";
}
