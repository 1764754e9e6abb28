namespace Esp.Config;

/// <summary>A method the proxy serves: a method of a service that <c>apis:</c> lists.</summary>
internal sealed record ResolvedMethod(string Service, ApiMethod Method)
{
    /// <summary>The name selectors match: <c>package.Service.Method</c>.</summary>
    public string Selector => Service + "." + Method.Name;

    /// <summary>The HTTP/2 path: <c>/package.Service/Method</c>.</summary>
    public string Path => "/" + Service + "/" + Method.Name;
}

/// <summary>The methods of the apis, and the apis whose methods could not be known (their errors are reported).</summary>
internal sealed record ResolvedApis(IReadOnlyList<ResolvedMethod> Methods, IReadOnlySet<string> Unresolved)
{
    /// <summary>
    /// True when a pattern could match a method of an unresolved api: selector checks skip those rather than
    /// add a "matches no method" error to the api's own.
    /// </summary>
    public bool MayCover(string pattern) =>
        Unresolved.Count > 0 && (pattern == "*" || Unresolved.Any(api => pattern.StartsWith(api + ".", StringComparison.Ordinal)));
}

/// <summary>
/// Decides the methods of the apis: from the descriptor when there is one (each <c>apis[].name</c> must be a
/// service of it), otherwise from <c>apis[].methods</c> (ESPv2's normalized JSON).
/// </summary>
internal static class ApiMethods
{
    /// <summary>The methods in api order, or null when none can be known (reported, or the descriptor failed).</summary>
    public static ResolvedApis? Resolve(ServiceConfigDocument config, string? descriptorFile,
        IReadOnlyDictionary<string, IReadOnlyList<ApiMethod>>? descriptorServices, ConfigDiagnostics diagnostics)
    {
        if (descriptorFile is not null && descriptorServices is null)
            return null; // the descriptor's error is already reported

        var apis = config.Apis;
        if (apis is null && descriptorServices is not null)
        {
            // api_config_http.yaml has no apis: serve what the descriptor defines, and say so.
            if (descriptorServices.Count == 0)
            {
                diagnostics.Error(SourcePosition.WholeFile(descriptorFile!), "the descriptor defines no service, and the config lists no apis");
                return null;
            }
            diagnostics.Warning(SourcePosition.WholeFile(config.File),
                $"no apis section: serving every service of the descriptor ({string.Join(", ", descriptorServices.Keys)})");
            return new ResolvedApis([.. descriptorServices.SelectMany(s => s.Value.Select(m => new ResolvedMethod(s.Key, m)))], new HashSet<string>());
        }
        if (apis is null || apis.Count == 0)
        {
            diagnostics.Error(SourcePosition.WholeFile(config.File), "no apis: list the gRPC services to serve (apis: - name: package.Service)");
            return null;
        }

        var methods = new List<ResolvedMethod>();
        var seen = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
        var unresolved = new HashSet<string>(StringComparer.Ordinal);
        foreach (var api in apis)
        {
            if (!seen.TryAdd(api.Name, api.At))
            {
                diagnostics.Error(api.At, $"api '{api.Name}' is listed twice (also at {Format(seen[api.Name])})");
                continue;
            }

            IReadOnlyList<ApiMethod>? apiMethods;
            if (descriptorServices is not null)
            {
                if (!descriptorServices.TryGetValue(api.Name, out apiMethods))
                {
                    diagnostics.Error(api.At, $"api '{api.Name}' is not a service of the descriptor {descriptorFile}; it defines: " +
                        (descriptorServices.Count == 0 ? "no service" : string.Join(", ", descriptorServices.Keys)));
                    unresolved.Add(api.Name);
                    continue;
                }
                if (api.Methods is not null)
                    diagnostics.Warning(api.At, $"apis[].methods of '{api.Name}' is ignored: the descriptor lists the methods");
            }
            else
            {
                apiMethods = api.Methods;
                if (apiMethods is null)
                {
                    diagnostics.Error(api.At, $"api '{api.Name}' lists no methods: without --descriptor, apis[].methods must name them");
                    unresolved.Add(api.Name);
                    continue;
                }
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var method in apiMethods)
            {
                if (names.Add(method.Name))
                    methods.Add(new ResolvedMethod(api.Name, method));
                else
                    diagnostics.Error(api.At, $"api '{api.Name}' lists the method '{method.Name}' twice");
            }
        }
        return new ResolvedApis(methods, unresolved);
    }

    internal static string Format(SourcePosition at) => at.Line > 0 ? $"{at.File}:{at.Line}" : at.File;
}
