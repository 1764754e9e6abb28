namespace Esp.Config;

/// <summary>
/// Reads one parsed config file into a <see cref="ServiceConfigDocument"/>: the top level and <c>apis</c> here,
/// the sections in <see cref="AuthenticationReader"/> and <see cref="RuleSectionsReader"/>.
/// </summary>
internal static class ServiceConfigReader
{
    public const string ServiceType = "google.api.Service";

    // google.api.Service (googleapis service.proto) plus the YAML-only `type`. The second list is the rest of
    // the schema: known, not acted on yet, so a warning rather than an error.
    private static readonly FieldNames TopLevel = new(
        ["type", "config_version", "name", "title", "apis", "authentication", "usage", "system_parameters", "backend"],
        ["producer_project_id", "id", "types", "enums", "documentation", "http", "quota", "context", "endpoints", "control",
            "logs", "metrics", "monitored_resources", "billing", "logging", "monitoring", "source_info", "publishing", "system_types",
            "custom_error", "experimental"],
        unknownIsWarning: true);

    // google.protobuf.Api and Method: YAML gives only the name; ESPv2's normalized JSON gives the methods too.
    private static readonly FieldNames Api = new(["name", "methods", "version", "options", "source_context", "mixins", "syntax"]);
    private static readonly FieldNames Method = new(
        ["name", "request_type_url", "request_streaming", "response_type_url", "response_streaming", "options", "syntax"]);

    public static ServiceConfigDocument? Read(string file, byte[] content, ConfigDiagnostics diagnostics)
    {
        var root = ConfigFileParser.Parse(file, content, diagnostics);
        if (root is null)
            return null;
        var fields = FieldReader.Open(root, "", TopLevel, diagnostics)!;

        if (fields.String("type") is { } type && type != ServiceType)
            fields.Error("type", $"type is '{type}'; a service config has 'type: {ServiceType}'");
        if (fields.Integer("config_version") is { } version && version != 3)
            fields.Warning("config_version", $"config_version is {version}; this proxy reads version 3 configs");

        Located<string>? name = null;
        if (fields.IsPresent("name"))
        {
            var value = fields.String("name");
            if (string.IsNullOrWhiteSpace(value) && !fields.IsInvalid("name"))
                fields.Error("name", "name is empty: give the service name (e.g. bookstore.endpoints.PROJECT.cloud.goog)");
            // Kept even when empty (reported above), so that the merged config does not also report it missing.
            name = new Located<string>(value?.Trim() ?? "", fields.PositionOf("name"));
        }

        var authentication = AuthenticationReader.Read(fields);
        return new ServiceConfigDocument
        {
            File = file,
            Name = name,
            Title = fields.String("title"),
            Apis = fields.Has("apis") ? ReadApis(fields) : null,
            Providers = authentication.Providers,
            AuthRules = authentication.Rules,
            UsageRules = RuleSectionsReader.ReadUsage(fields),
            ApiKeyRules = RuleSectionsReader.ReadSystemParameters(fields),
            BackendRules = RuleSectionsReader.ReadBackend(fields),
        };
    }

    private static List<ApiConfig> ReadApis(FieldReader fields)
    {
        var apis = new List<ApiConfig>();
        foreach (var api in fields.Maps("apis", Api))
        {
            var name = api.String("name");
            if (string.IsNullOrWhiteSpace(name))
            {
                if (!api.IsInvalid("name"))
                    api.Error("name", $"{api.Context}.name is missing: give the gRPC service's full name (package.Service)");
                continue;
            }
            var methods = api.Has("methods") ? ReadMethods(api) : null;
            apis.Add(new ApiConfig(api.PositionOf("name"), name.Trim(), methods));
        }
        return apis;
    }

    private static List<ApiMethod> ReadMethods(FieldReader api)
    {
        var methods = new List<ApiMethod>();
        foreach (var method in api.Maps("methods", Method))
        {
            var name = method.String("name");
            if (string.IsNullOrWhiteSpace(name))
            {
                if (!method.IsInvalid("name"))
                    method.Error("name", $"{method.Context}.name is missing");
                continue;
            }
            var kind = ApiMethod.KindOf(method.Bool("request_streaming") ?? false, method.Bool("response_streaming") ?? false);
            methods.Add(new ApiMethod(name.Trim(), kind));
        }
        return methods;
    }
}
