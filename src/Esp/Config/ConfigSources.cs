namespace Esp.Config;

/// <summary>
/// The inputs of a service config, as the command line names them. Either <see cref="DescriptorPath"/>
/// (with one or more <see cref="ServiceConfigPaths"/>) or <see cref="ServiceJsonPath"/> (ESPv2's normalized
/// config, whose <c>apis[].methods</c> list the methods, so no descriptor is needed).
/// </summary>
internal sealed record ConfigSources
{
    /// <summary>The default of <c>--backend</c>.</summary>
    public const string DefaultBackendAddress = "grpc://127.0.0.1:8081";

    /// <summary><c>--service_config</c>, in order: later files override earlier ones.</summary>
    public IReadOnlyList<string> ServiceConfigPaths { get; init; } = [];

    /// <summary><c>--descriptor</c>: a <c>FileDescriptorSet</c> (<c>protoc --include_imports --descriptor_set_out</c>).</summary>
    public string? DescriptorPath { get; init; }

    /// <summary><c>--service_json_path</c>: read first, before any <see cref="ServiceConfigPaths"/>.</summary>
    public string? ServiceJsonPath { get; init; }

    /// <summary><c>--backend</c>: where methods that no backend rule names are forwarded.</summary>
    public string DefaultBackend { get; init; } = DefaultBackendAddress;
}
