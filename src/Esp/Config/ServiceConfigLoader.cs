using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Esp.Config;

/// <summary>
/// Loads a service config: reads the files, merges them, checks them against the descriptor and compiles
/// the <see cref="ServiceModel"/>. Bad input never throws: the result carries every error, with file and line.
/// </summary>
/// <remarks>
/// Steps: (1) the default backend; (2) each config file (<c>--service_json_path</c> first, then every
/// <c>--service_config</c> in order) is parsed and read section by section, (3) the descriptor's services;
/// (4) the documents are merged; (5) the apis' methods are resolved; (6) the whole is validated; (7) compiled.
/// Whole-config checks are skipped when a file could not be parsed, so one syntax error does not bring a
/// cascade of "missing" errors about what that file held.
/// </remarks>
internal static class ServiceConfigLoader
{
    public static ConfigLoadResult Load(ConfigSources sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var diagnostics = new ConfigDiagnostics();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        var defaultBackend = BackendAddress.TryParse(sources.DefaultBackend, out var backendError);
        if (defaultBackend is null)
            diagnostics.Error(SourcePosition.WholeFile("--backend"), $"address '{sources.DefaultBackend}' {backendError}");

        if (sources.DescriptorPath is null && sources.ServiceJsonPath is null)
        {
            diagnostics.Error(SourcePosition.WholeFile("--descriptor"),
                "no descriptor: give --descriptor=FILE (protoc --include_imports --descriptor_set_out=FILE your.proto), " +
                "or --service_json_path=FILE (a normalized service config that lists the methods)");
        }
        if (sources.ServiceJsonPath is null && sources.ServiceConfigPaths.Count == 0)
            diagnostics.Error(SourcePosition.WholeFile("--service_config"), "no service config: give --service_config=FILE (YAML or JSON)");

        // (2) config documents, in override order.
        var documents = new List<ServiceConfigDocument>();
        var allParsed = true;
        IEnumerable<string> configPaths = sources.ServiceJsonPath is null
            ? sources.ServiceConfigPaths
            : [sources.ServiceJsonPath, .. sources.ServiceConfigPaths];
        foreach (var path in configPaths)
        {
            var document = ReadFile(path, hash, diagnostics) is { } bytes ? ServiceConfigReader.Read(path, bytes, diagnostics) : null;
            if (document is null)
                allParsed = false;
            else
                documents.Add(document);
        }

        // (3) the descriptor.
        IReadOnlyDictionary<string, IReadOnlyList<ApiMethod>>? services = null;
        if (sources.DescriptorPath is not null && ReadFile(sources.DescriptorPath, hash, diagnostics) is { } descriptorBytes)
            services = DescriptorServices.Read(sources.DescriptorPath, descriptorBytes, diagnostics);

        // (4)-(7)
        ServiceModel? model = null;
        if (documents.Count > 0 && allParsed)
        {
            var config = ServiceConfigMerger.Merge(documents);
            // Without any source of methods (reported above) there is nothing to resolve them from.
            var apis = sources.DescriptorPath is null && sources.ServiceJsonPath is null
                ? null
                : ApiMethods.Resolve(config, sources.DescriptorPath, services, diagnostics);
            ServiceConfigValidator.Validate(config, apis, diagnostics);
            if (!diagnostics.HasErrors && apis is not null && defaultBackend is not null)
                model = ServiceModelCompiler.Compile(config, apis.Methods, defaultBackend, ConfigIdOf(hash));
        }

        // Reading order interleaves the phases; a person reads file by file, top to bottom.
        List<string> files = [.. configPaths, .. sources.DescriptorPath is null ? [] : new[] { sources.DescriptorPath }];
        return new ConfigLoadResult(diagnostics.HasErrors ? null : model,
            InFileOrder(diagnostics.Errors, files), InFileOrder(diagnostics.Warnings, files));
    }

    /// <summary>Flag errors (<c>--backend</c>) first, then file by file in input order, by line; stable otherwise.</summary>
    private static List<ConfigDiagnostic> InFileOrder(IReadOnlyList<ConfigDiagnostic> diagnostics, List<string> files) =>
        [.. diagnostics.OrderBy(d => files.IndexOf(d.File)).ThenBy(d => d.Line)];

    /// <summary>The file's bytes, also added to the config id's hash; null when it cannot be read (reported).</summary>
    private static byte[]? ReadFile(string path, IncrementalHash hash, ConfigDiagnostics diagnostics)
    {
        var at = SourcePosition.WholeFile(path);
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
            {
                diagnostics.Error(at, "cannot read: it is a directory, not a file");
                return null;
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            diagnostics.Error(at, "cannot read: no such file");
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            diagnostics.Error(at, "cannot read: permission denied");
            return null;
        }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException)
        {
            diagnostics.Error(at, $"cannot read: {e.Message}");
            return null;
        }

        // Length-prefixed, so that moving bytes from one file to the next changes the id.
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, bytes.LongLength);
        hash.AppendData(length);
        hash.AppendData(bytes);
        return bytes;
    }

    /// <summary>The first 16 hex digits of SHA-256 over the inputs, in order: short, stable, content-derived.</summary>
    private static string ConfigIdOf(IncrementalHash hash) =>
        Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 8));
}
