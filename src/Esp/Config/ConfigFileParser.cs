using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Esp.Config;

/// <summary>
/// Parses a config file, YAML or JSON (JSON is YAML: one parser gives both the same line numbers and
/// the same leniency), into <see cref="ConfigNode"/>s. Malformed input is reported with its position.
/// </summary>
internal static class ConfigFileParser
{
    // Real configs nest five or six levels; anything deeper is a mistake or an alias loop.
    private const int MaxDepth = 32;

    /// <summary>The root map of the file's only document, or null when it is not one (reported).</summary>
    public static MappingNode? Parse(string file, byte[] content, ConfigDiagnostics diagnostics) =>
        Parse(file, content, ConfigFileKind.ServiceConfig, diagnostics);

    /// <inheritdoc cref="Parse(string, byte[], ConfigDiagnostics)"/>
    public static MappingNode? Parse(string file, byte[] content, ConfigFileKind kind, ConfigDiagnostics diagnostics)
    {
        if (LooksBinary(content))
        {
            diagnostics.Error(SourcePosition.WholeFile(file), kind.NotText);
            return null;
        }

        var stream = new YamlStream();
        try
        {
            // detectEncodingFromByteOrderMarks: a UTF-8 (or UTF-16) BOM is not part of the text.
            using var reader = new StreamReader(new MemoryStream(content), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            diagnostics.Error(new SourcePosition(file, (int)e.Start.Line), $"not valid YAML or JSON: {e.Message}");
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            diagnostics.Error(SourcePosition.WholeFile(file), kind.Empty);
            return null;
        }
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            diagnostics.Error(new SourcePosition(file, (int)second.Start.Line),
                kind.SecondDocument);
            return null;
        }

        var errorsBefore = diagnostics.Errors.Count;
        var root = Convert(file, stream.Documents[0].RootNode, 0, diagnostics);
        if (diagnostics.Errors.Count > errorsBefore)
            return null; // a structure error: the file is not read further, as for a syntax error
        if (root is MappingNode map)
            return map;
        if (root is ScalarNode { IsNull: true })
        {
            diagnostics.Error(SourcePosition.WholeFile(file), kind.Empty);
            return null;
        }
        if (root is not null)
        {
            diagnostics.Error(root.Position, $"{kind.RootShape}, not {root.Kind}");
        }
        return null;
    }

    /// <summary>NUL bytes without a UTF-16/32 byte order mark: a binary file, such as a descriptor set.</summary>
    private static bool LooksBinary(byte[] content) =>
        content.AsSpan().Contains((byte)0) && !(content.Length >= 2 && ((content[0] == 0xFF && content[1] == 0xFE) || (content[0] == 0xFE && content[1] == 0xFF)));

    private static ConfigNode? Convert(string file, YamlNode node, int depth, ConfigDiagnostics diagnostics)
    {
        var position = new SourcePosition(file, (int)node.Start.Line);
        if (depth > MaxDepth)
        {
            diagnostics.Error(position, $"nested more than {MaxDepth} levels deep");
            return null;
        }

        switch (node)
        {
            case YamlScalarNode scalar:
                return new ScalarNode(position, scalar.Value ?? "", scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any));
            case YamlSequenceNode sequence:
                var items = new List<ConfigNode>(sequence.Children.Count);
                foreach (var child in sequence.Children)
                {
                    if (Convert(file, child, depth + 1, diagnostics) is { } item)
                        items.Add(item);
                }
                return new SequenceNode(position, items);
            case YamlMappingNode mapping:
                var entries = new List<KeyValuePair<ScalarNode, ConfigNode>>(mapping.Children.Count);
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode keyScalar)
                    {
                        diagnostics.Error(new SourcePosition(file, (int)key.Start.Line), "a map key must be a plain name, not a list or map");
                        continue;
                    }
                    var keyNode = new ScalarNode(new SourcePosition(file, (int)key.Start.Line), keyScalar.Value ?? "", quoted: true);
                    if (Convert(file, value, depth + 1, diagnostics) is { } valueNode)
                        entries.Add(new(keyNode, valueNode));
                }
                return new MappingNode(position, entries);
            default:
                diagnostics.Error(position, "unsupported YAML node");
                return null;
        }
    }
}

/// <summary>What a kind of YAML file should look like, for the parser's messages.</summary>
internal sealed record ConfigFileKind(string NotText, string Empty, string SecondDocument, string RootShape)
{
    public static readonly ConfigFileKind ServiceConfig = new(
        "not a text file: a service config is YAML or JSON (a descriptor set goes in --descriptor, or first for esp validate)",
        "the file is empty; a service config starts with 'type: google.api.Service'",
        "a second YAML document ('---'): give each service config file one document, or pass several files",
        "a service config is a map of sections (type, name, apis, authentication, ...)");
}
