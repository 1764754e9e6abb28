namespace Esp.Config;

/// <summary>
/// Reads the per-method rule sections besides authentication: <c>usage</c> (google/api/usage.proto),
/// <c>system_parameters</c> (system_parameter.proto) and <c>backend</c> (backend.proto).
/// </summary>
internal static class RuleSectionsReader
{
    private const string ApiKeyParameter = "api_key";

    private static readonly FieldNames Usage = new(["rules"], ["requirements", "producer_notification_channel"]);
    private static readonly FieldNames UsageRule = new(["selector", "allow_unregistered_calls", "skip_service_control"]);
    private static readonly FieldNames SystemParameters = new(["rules"]);
    private static readonly FieldNames SystemParameterRule = new(["selector", "parameters"]);
    private static readonly FieldNames SystemParameter = new(["name", "http_header", "url_query_parameter"]);
    private static readonly FieldNames Backend = new(["rules"]);
    private static readonly FieldNames BackendRule = new(
        ["selector", "address", "deadline", "jwt_audience", "disable_auth", "protocol"],
        ["min_deadline", "operation_deadline", "path_translation", "overrides_by_request_protocol", "load_balancing_policy"]);

    public static List<UsageRuleConfig> ReadUsage(FieldReader root)
    {
        var rules = new List<UsageRuleConfig>();
        foreach (var rule in Rules(root, "usage", Usage, UsageRule))
        {
            var selector = ReadSelector(rule);
            var allowUnregistered = rule.Bool("allow_unregistered_calls") ?? false;
            var skipServiceControl = rule.Bool("skip_service_control") ?? false;
            if (selector is not null)
                rules.Add(new UsageRuleConfig(rule.Position, selector, allowUnregistered, skipServiceControl));
        }
        return rules;
    }

    /// <summary>Only the <c>api_key</c> parameter means anything to ESP (both versions); others are warned about.</summary>
    public static List<ApiKeyRuleConfig> ReadSystemParameters(FieldReader root)
    {
        var rules = new List<ApiKeyRuleConfig>();
        foreach (var rule in Rules(root, "system_parameters", SystemParameters, SystemParameterRule))
        {
            var selector = ReadSelector(rule);
            List<string>? headers = null, queries = null;
            foreach (var parameter in rule.Maps("parameters", SystemParameter))
            {
                var name = parameter.String("name")?.Trim();
                var header = parameter.String("http_header")?.Trim();
                var query = parameter.String("url_query_parameter")?.Trim();
                if (string.IsNullOrEmpty(name))
                {
                    if (!parameter.IsInvalid("name"))
                        parameter.Error("name", $"{parameter.Context} has no name (the API key parameter is '{ApiKeyParameter}')");
                    continue;
                }
                if (name != ApiKeyParameter)
                {
                    parameter.Warning("name", $"system parameter '{name}' is not implemented; only '{ApiKeyParameter}' is read");
                    continue;
                }
                if (string.IsNullOrEmpty(header) && string.IsNullOrEmpty(query))
                {
                    parameter.Error("name", $"{parameter.Context} gives neither http_header nor url_query_parameter for '{ApiKeyParameter}'");
                    continue;
                }
                headers ??= [];
                queries ??= [];
                if (!string.IsNullOrEmpty(header))
                    headers.Add(header);
                if (!string.IsNullOrEmpty(query))
                    queries.Add(query);
            }
            var locations = headers is null ? null : new ApiKeyLocations(headers, queries!);
            if (selector is not null)
                rules.Add(new ApiKeyRuleConfig(rule.Position, selector, locations));
        }
        return rules;
    }

    public static List<BackendRuleConfig> ReadBackend(FieldReader root)
    {
        var rules = new List<BackendRuleConfig>();
        foreach (var rule in Rules(root, "backend", Backend, BackendRule))
        {
            var selector = ReadSelector(rule);

            BackendAddress? address = null;
            if (rule.String("address") is { } text && text.Trim().Length > 0)
            {
                address = BackendAddress.TryParse(text.Trim(), out var error);
                if (address is null)
                    rule.Error("address", $"{rule.PathOf("address")} '{text.Trim()}' {error}");
            }

            TimeSpan? deadline = null;
            if (rule.Double("deadline") is { } seconds)
            {
                if (seconds <= 0 || seconds > TimeSpan.MaxValue.TotalSeconds)
                    rule.Error("deadline", $"{rule.PathOf("deadline")} is {seconds}; a deadline is a positive number of seconds");
                else
                    deadline = TimeSpan.FromSeconds(seconds);
            }

            var jwtAudience = rule.String("jwt_audience")?.Trim();
            var disableAuth = rule.Bool("disable_auth");
            if (!string.IsNullOrEmpty(jwtAudience) && disableAuth is not null)
                rule.Error("disable_auth", $"{rule.Context} gives both jwt_audience and disable_auth: they are alternatives (a oneof); keep one");

            // google.api.BackendRule.protocol is "h2" or "http/1.1"; gRPC needs HTTP/2.
            if (rule.String("protocol")?.Trim() is { Length: > 0 } protocol && protocol is not ("grpc" or "h2"))
                rule.Error("protocol", $"{rule.PathOf("protocol")} '{protocol}' is not supported: gRPC backends speak h2 (write 'h2' or 'grpc', or leave it out)");

            if (selector is not null)
            {
                rules.Add(new BackendRuleConfig(rule.Position, selector, address, deadline,
                    string.IsNullOrEmpty(jwtAudience) ? null : jwtAudience, disableAuth ?? false));
            }
        }
        return rules;
    }

    private static IReadOnlyList<FieldReader> Rules(FieldReader root, string section, FieldNames sectionNames, FieldNames ruleNames) =>
        root.Map(section, sectionNames)?.Maps("rules", ruleNames) ?? [];

    /// <summary>A rule's selector; null when missing or malformed (reported).</summary>
    internal static Selector? ReadSelector(FieldReader rule)
    {
        var text = rule.String("selector");
        return rule.IsInvalid("selector") ? null : Selector.Parse(text, rule.PositionOf("selector"), rule.PathOf("selector"), rule.Diagnostics);
    }
}
