using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Esp.Config;

/// <summary>
/// Reads the services and methods of a <c>FileDescriptorSet</c> (what <c>protoc --include_imports
/// --descriptor_set_out</c> writes) straight from its <c>FileDescriptorProto</c>s: names and streaming flags are
/// all the proxy needs, so the files are not linked into descriptors (which would need every import).
/// </summary>
internal static class DescriptorServices
{
    /// <summary>Services by full name (<c>package.Service</c>), in file order; null when the file is not a descriptor set (reported).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<ApiMethod>>? Read(string file, byte[] content, ConfigDiagnostics diagnostics)
    {
        const string hint = "make one with protoc --include_imports --descriptor_set_out=FILE your.proto";
        FileDescriptorSet set;
        try
        {
            set = FileDescriptorSet.Parser.ParseFrom(content);
        }
        catch (InvalidProtocolBufferException e)
        {
            diagnostics.Error(SourcePosition.WholeFile(file), $"not a FileDescriptorSet ({e.Message}); {hint}");
            return null;
        }
        // Protobuf parsing is lenient: unrelated bytes can parse as a set of nothing.
        if (set.File.Count == 0 || set.File.Any(f => string.IsNullOrEmpty(f.Name)))
        {
            diagnostics.Error(SourcePosition.WholeFile(file), $"not a FileDescriptorSet (it holds no named .proto files); {hint}");
            return null;
        }

        var services = new Dictionary<string, IReadOnlyList<ApiMethod>>(StringComparer.Ordinal);
        foreach (var proto in set.File)
        {
            foreach (var service in proto.Service)
            {
                var fullName = string.IsNullOrEmpty(proto.Package) ? service.Name : proto.Package + "." + service.Name;
                var methods = service.Method
                    .Select(m => new ApiMethod(m.Name, ApiMethod.KindOf(m.ClientStreaming, m.ServerStreaming)))
                    .ToList();
                services.TryAdd(fullName, methods);
            }
        }
        return services;
    }
}
