using Esp.Config;
using Esp.Grpc;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Config;

/// <summary>Configs that load: the Bookstore samples, every section, the JSON forms, merging.</summary>
public sealed class ServiceConfigLoaderTests : IDisposable
{
    private const string Bookstore = "endpoints.examples.bookstore.Bookstore";
    private readonly ConfigTestFiles _files = new();

    [Fact]
    public void Load_BookstoreApiConfig_ListShelvesOpenOthersNeedApiKey()
    {
        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, ConfigTestFiles.Sample("api_config.yaml"));

        var model = ConfigTestFiles.AssertLoaded(result);
        Assert.Empty(result.Warnings);
        Assert.Equal("bookstore.endpoints.MY_PROJECT_ID.cloud.goog", model.Name);
        Assert.Equal("Bookstore gRPC API", model.Title);
        Assert.Empty(model.Providers);
        Assert.Equal(8, model.MethodsByPath.Count);
        var listShelves = model.MethodsByPath[$"/{Bookstore}/ListShelves"];
        Assert.Equal($"{Bookstore}.ListShelves", listShelves.Selector);
        Assert.Equal(MethodType.Unary, listShelves.Kind);
        Assert.True(listShelves.AllowUnregisteredCalls);
        Assert.Null(listShelves.Auth);
        foreach (var method in model.MethodsByPath.Values.Where(m => m != listShelves))
        {
            Assert.False(method.AllowUnregisteredCalls, method.Selector);
            Assert.Same(ApiKeyLocations.Default, method.ApiKeyLocations);
            Assert.Equal("grpc://127.0.0.1:8081", method.Backend.Address);
            Assert.Equal(new Uri("http://127.0.0.1:8081/"), method.Backend.BaseUri);
            Assert.Null(method.Backend.Deadline);
        }
        Assert.Matches("^[0-9a-f]{16}$", model.ConfigId);
    }

    [Fact]
    public void Load_BookstoreAuthConfig_EveryMethodNeedsTheServiceAccountToken()
    {
        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, ConfigTestFiles.Sample("api_config_auth.yaml"));

        var model = ConfigTestFiles.AssertLoaded(result);
        var provider = Assert.Single(model.Providers).Value;
        Assert.Equal("google_service_account", provider.Id);
        Assert.Equal("SERVICE-ACCOUNT-ID", provider.Issuer);
        Assert.Equal("https://www.googleapis.com/robot/v1/metadata/x509/SERVICE-ACCOUNT-ID", provider.JwksUri);
        Assert.Empty(provider.Audiences);
        Assert.Empty(provider.JwtLocations);
        Assert.All(model.MethodsByPath.Values, method =>
        {
            Assert.NotNull(method.Auth);
            var requirement = Assert.Single(method.Auth.Requirements);
            Assert.Equal("google_service_account", requirement.ProviderId);
            Assert.Empty(requirement.Audiences);
            Assert.False(method.Auth.AllowWithoutCredential);
            Assert.True(method.AllowUnregisteredCalls);
        });
    }

    [Fact]
    public void Load_BookstoreHttpConfig_WarnsThatHttpIsNotImplementedAndServesTheDescriptorsServices()
    {
        var path = ConfigTestFiles.Sample("api_config_http.yaml");
        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, path);

        var model = ConfigTestFiles.AssertLoaded(result);
        var http = Assert.Single(result.Warnings, w => w.Message.Contains("http", StringComparison.Ordinal) && w.Line > 0);
        Assert.Equal(path, http.File);
        Assert.Equal("section http is not implemented yet; ignored", http.Message);
        Assert.Equal(File.ReadAllLines(path).ToList().IndexOf("http:") + 1, http.Line);
        Assert.Contains(result.Warnings, w => w.Message.StartsWith("no apis section: serving every service of the descriptor", StringComparison.Ordinal));
        Assert.Equal(8, model.MethodsByPath.Count);
        Assert.Equal("", model.Title);
    }

    [Fact]
    public void Load_InteropDescriptor_MethodKindsFromTheDescriptor()
    {
        var path = _files.Write("echo.yaml", """
            type: google.api.Service
            name: echo.test
            apis:
            - name: esp.interop.Echo
            """);

        var model = ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Interop, path));

        Assert.Equal(MethodType.Unary, model.MethodsByPath["/esp.interop.Echo/Unary"].Kind);
        Assert.Equal(MethodType.ServerStreaming, model.MethodsByPath["/esp.interop.Echo/ServerStream"].Kind);
        Assert.Equal(MethodType.ClientStreaming, model.MethodsByPath["/esp.interop.Echo/ClientStream"].Kind);
        Assert.Equal(MethodType.DuplexStreaming, model.MethodsByPath["/esp.interop.Echo/Bidi"].Kind);
    }

    [Fact]
    public void Load_EverySection_CompiledPerMethod()
    {
        var (result, _) = _files.LoadBookstore($$"""
            type: google.api.Service
            config_version: 3
            name: bookstore.test
            apis:
            - name: {{Bookstore}}
            authentication:
              providers:
              - id: firebase
                issuer: https://securetoken.google.com/project
                jwks_uri: https://www.googleapis.com/service_accounts/v1/metadata/x509/securetoken@system.gserviceaccount.com
                audiences: " project ,other,, "
                authorization_url: https://auth.example/authorize
                jwt_locations:
                - header: X-Token
                  value_prefix: "Token "
                - query: jwt
                - cookie: session
              - id: auth0
                issuer: https://example.auth0.com/
              rules:
              - selector: "*"
                requirements:
                - provider_id: firebase
                  audiences: extra-aud
                - provider_id: auth0
                allow_without_credential: true
              - selector: {{Bookstore}}.ListShelves
            usage:
              rules:
              - selector: {{Bookstore}}.GetShelf
                allow_unregistered_calls: true
              - selector: {{Bookstore}}.GetBook
                skip_service_control: true
            system_parameters:
              rules:
              - selector: {{Bookstore}}.GetShelf
                parameters:
                - name: api_key
                  http_header: X-My-Key
                - name: api_key
                  url_query_parameter: my_key
            backend:
              rules:
              - selector: {{Bookstore}}.DeleteShelf
                address: grpcs://shelves.internal:8443
                deadline: 2.5
                jwt_audience: https://shelves.internal
                protocol: h2
              - selector: {{Bookstore}}.DeleteBook
                address: grpc://[::1]:9000/
                disable_auth: true
            """);

        var model = ConfigTestFiles.AssertLoaded(result);
        var firebase = model.Providers["firebase"];
        Assert.Equal(["project", "other"], firebase.Audiences);
        Assert.Equal("https://auth.example/authorize", firebase.AuthorizationUrl);
        Assert.Equal(
            [new JwtLocation(JwtLocationKind.Header, "X-Token", "Token "), new JwtLocation(JwtLocationKind.Query, "jwt"), new JwtLocation(JwtLocationKind.Cookie, "session")],
            firebase.JwtLocations);
        Assert.Null(model.Providers["auth0"].JwksUri);

        var createShelf = model.MethodsByPath[$"/{Bookstore}/CreateShelf"];
        Assert.NotNull(createShelf.Auth);
        Assert.True(createShelf.Auth.AllowWithoutCredential);
        Assert.Equal(["firebase", "auth0"], createShelf.Auth.Requirements.Select(r => r.ProviderId));
        Assert.Equal(["extra-aud"], createShelf.Auth.Requirements[0].Audiences);
        Assert.Null(model.MethodsByPath[$"/{Bookstore}/ListShelves"].Auth); // a later rule without requirements

        var getShelf = model.MethodsByPath[$"/{Bookstore}/GetShelf"];
        Assert.True(getShelf.AllowUnregisteredCalls);
        Assert.Equal(["X-My-Key"], getShelf.ApiKeyLocations.Headers);
        Assert.Equal(["my_key"], getShelf.ApiKeyLocations.QueryParameters);
        Assert.True(model.MethodsByPath[$"/{Bookstore}/GetBook"].SkipServiceControl);

        var deleteShelf = model.MethodsByPath[$"/{Bookstore}/DeleteShelf"].Backend;
        Assert.Equal("grpcs://shelves.internal:8443", deleteShelf.Address);
        Assert.Equal(new Uri("https://shelves.internal:8443/"), deleteShelf.BaseUri);
        Assert.Equal(TimeSpan.FromSeconds(2.5), deleteShelf.Deadline);
        Assert.Equal("https://shelves.internal", deleteShelf.JwtAudience);
        var deleteBook = model.MethodsByPath[$"/{Bookstore}/DeleteBook"].Backend;
        Assert.Equal(new Uri("http://[::1]:9000/"), deleteBook.BaseUri);
        Assert.True(deleteBook.DisableAuth);
        Assert.Same(model.DefaultBackend, model.MethodsByPath[$"/{Bookstore}/ListBooks"].Backend);
    }

    [Fact]
    public void Load_BackendRuleWithoutAddress_DefaultBackendWithTheRulesDeadline()
    {
        var path = _files.Write("api_config.yaml", $"""
            name: bookstore.test
            apis:
            - name: {Bookstore}
            backend:
              rules:
              - selector: "*"
                deadline: 30
            """);

        var model = ConfigTestFiles.AssertLoaded(ServiceConfigLoader.Load(new ConfigSources
        {
            DescriptorPath = ProtocDescriptors.Bookstore,
            ServiceConfigPaths = [path],
            DefaultBackend = "grpcs://backend.test:443",
        }));

        Assert.Equal(new Uri("https://backend.test/"), model.DefaultBackend.BaseUri);
        Assert.All(model.MethodsByPath.Values, m =>
        {
            Assert.Equal("grpcs://backend.test:443", m.Backend.Address);
            Assert.Equal(TimeSpan.FromSeconds(30), m.Backend.Deadline);
        });
    }

    [Fact]
    public void Load_JsonFormOfTheConfig_SameModelAsTheYaml()
    {
        var yaml = _files.Write("api_config.yaml", $$"""
            type: google.api.Service
            config_version: 3
            name: bookstore.test
            title: Bookstore
            apis:
            - name: {{Bookstore}}
            authentication:
              providers:
              - id: sa
                issuer: sa@project.iam.gserviceaccount.com
                audiences: a, b
                jwt_locations:
                - header: Authorization
                  value_prefix: "Bearer "
              rules:
              - selector: "{{Bookstore}}.*"
                requirements:
                - provider_id: sa
                  audiences: c
            usage:
              rules:
              - selector: "*"
                allow_unregistered_calls: true
            system_parameters:
              rules:
              - selector: "*"
                parameters:
                - name: api_key
                  http_header: X-Key
            backend:
              rules:
              - selector: "{{Bookstore}}.GetShelf"
                address: grpc://shelves:8000
                deadline: 5
            """);
        // The proto JSON form: lowerCamelCase names, and the values protojson writes (quoted numbers included).
        var json = _files.Write("service.json", $$"""
            {
              "type": "google.api.Service",
              "configVersion": 3,
              "name": "bookstore.test",
              "title": "Bookstore",
              "apis": [{"name": "{{Bookstore}}"}],
              "authentication": {
                "providers": [{
                  "id": "sa",
                  "issuer": "sa@project.iam.gserviceaccount.com",
                  "audiences": "a, b",
                  "jwtLocations": [{"header": "Authorization", "valuePrefix": "Bearer "}]
                }],
                "rules": [{"selector": "{{Bookstore}}.*", "requirements": [{"providerId": "sa", "audiences": "c"}]}]
              },
              "usage": {"rules": [{"selector": "*", "allowUnregisteredCalls": true}]},
              "systemParameters": {"rules": [{"selector": "*", "parameters": [{"name": "api_key", "httpHeader": "X-Key"}]}]},
              "backend": {"rules": [{"selector": "{{Bookstore}}.GetShelf", "address": "grpc://shelves:8000", "deadline": "5"}]}
            }
            """);

        var fromYaml = ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, yaml));
        var fromJson = ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, json));

        Assert.Equal(ConfigTestFiles.Describe(fromYaml), ConfigTestFiles.Describe(fromJson));
        Assert.NotEqual(fromYaml.ConfigId, fromJson.ConfigId);
        Assert.Equal(TimeSpan.FromSeconds(5), fromJson.MethodsByPath[$"/{Bookstore}/GetShelf"].Backend.Deadline);
    }

    [Fact]
    public void Load_ServiceJsonPath_MethodsAndStreamingFromTheApisWithoutADescriptor()
    {
        // ESPv2's normalized config (what `gcloud endpoints configs describe` gives): apis list their methods.
        var json = _files.Write("service.json", """
            {
              "name": "echo.endpoints.project.cloud.goog",
              "title": "Echo",
              "id": "2024-01-01r0",
              "producerProjectId": "project",
              "apis": [{
                "name": "esp.interop.Echo",
                "methods": [
                  {"name": "Unary", "requestTypeUrl": "type.googleapis.com/esp.interop.EchoRequest", "responseTypeUrl": "type.googleapis.com/esp.interop.EchoResponse"},
                  {"name": "ServerStream", "responseStreaming": true},
                  {"name": "ClientStream", "requestStreaming": true},
                  {"name": "Bidi", "requestStreaming": true, "responseStreaming": true}
                ],
                "version": "v1",
                "sourceContext": {"fileName": "interop.proto"},
                "syntax": "SYNTAX_PROTO3"
              }],
              "http": {"rules": []},
              "documentation": {},
              "control": {"environment": "servicecontrol.googleapis.com"},
              "usage": {"rules": [{"selector": "esp.interop.Echo.Unary", "allowUnregisteredCalls": true}]},
              "authentication": {
                "providers": [{"id": "google", "issuer": "https://accounts.google.com"}],
                "rules": [{"selector": "esp.interop.Echo.Bidi", "requirements": [{"providerId": "google"}], "oauth": {"canonicalScopes": "x"}}]
              }
            }
            """);

        var result = ServiceConfigLoader.Load(new ConfigSources { ServiceJsonPath = json });

        var model = ConfigTestFiles.AssertLoaded(result);
        Assert.Equal(4, model.MethodsByPath.Count);
        Assert.Equal(MethodType.Unary, model.MethodsByPath["/esp.interop.Echo/Unary"].Kind);
        Assert.Equal(MethodType.ServerStreaming, model.MethodsByPath["/esp.interop.Echo/ServerStream"].Kind);
        Assert.Equal(MethodType.ClientStreaming, model.MethodsByPath["/esp.interop.Echo/ClientStream"].Kind);
        Assert.Equal(MethodType.DuplexStreaming, model.MethodsByPath["/esp.interop.Echo/Bidi"].Kind);
        Assert.True(model.MethodsByPath["/esp.interop.Echo/Unary"].AllowUnregisteredCalls);
        Assert.NotNull(model.MethodsByPath["/esp.interop.Echo/Bidi"].Auth);
        Assert.Equal(
            ["section id is not implemented yet; ignored", "section producer_project_id is not implemented yet; ignored",
                "section http is not implemented yet; ignored", "section documentation is not implemented yet; ignored",
                "section control is not implemented yet; ignored", "authentication.rules[0].oauth is not implemented yet; ignored"],
            result.Warnings.Select(w => w.Message));
    }

    [Fact]
    public void Load_TwoFiles_LaterScalarsReplaceRulesAppendProvidersReplaceById()
    {
        var first = _files.Write("base.yaml", $$"""
            type: google.api.Service
            name: bookstore.test
            title: First
            apis:
            - name: {{Bookstore}}
            authentication:
              providers:
              - id: main
                issuer: first.example
              - id: other
                issuer: other.example
              rules:
              - selector: "*"
                requirements:
                - provider_id: main
            usage:
              rules:
              - selector: "*"
                allow_unregistered_calls: true
            """);
        var second = _files.Write("override.yaml", $$"""
            title: Second
            authentication:
              providers:
              - id: main
                issuer: second.example
                audiences: aud2
            usage:
              rules:
              - selector: {{Bookstore}}.DeleteShelf, {{Bookstore}}.DeleteBook
                allow_unregistered_calls: false
            """);

        var model = ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, first, second));

        Assert.Equal("bookstore.test", model.Name);
        Assert.Equal("Second", model.Title);
        Assert.Equal(2, model.Providers.Count);
        Assert.Equal("second.example", model.Providers["main"].Issuer);
        Assert.Equal(["aud2"], model.Providers["main"].Audiences);
        Assert.Equal("other.example", model.Providers["other"].Issuer);
        Assert.False(model.MethodsByPath[$"/{Bookstore}/DeleteShelf"].AllowUnregisteredCalls);
        Assert.False(model.MethodsByPath[$"/{Bookstore}/DeleteBook"].AllowUnregisteredCalls);
        Assert.True(model.MethodsByPath[$"/{Bookstore}/GetBook"].AllowUnregisteredCalls);
        Assert.NotNull(model.MethodsByPath[$"/{Bookstore}/GetBook"].Auth);
    }

    [Fact]
    public void Load_SameInputsTwice_SameConfigIdAndAnyChangeChangesIt()
    {
        var yaml = $"name: bookstore.test\napis:\n- name: {Bookstore}\n";
        var path = _files.Write("a.yaml", yaml);
        var same = _files.Write("b.yaml", yaml);
        var changed = _files.Write("c.yaml", yaml + "title: Changed\n");

        var id = ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, path)).ConfigId;

        Assert.Equal(id, ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, same)).ConfigId);
        Assert.NotEqual(id, ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, changed)).ConfigId);
        Assert.NotEqual(id, ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Interop,
            _files.Write("d.yaml", "name: bookstore.test\n"))).ConfigId);
    }

    [Fact]
    public void Load_SnakeAndCamelCaseMixedInYaml_BothAccepted()
    {
        var (result, _) = _files.LoadBookstore($$"""
            name: bookstore.test
            apis:
            - name: {{Bookstore}}
            authentication:
              providers:
              - id: p
                issuer: p.example
                jwksUri: https://p.example/keys
                jwt_locations:
                - header: X-Jwt
                  valuePrefix: "Jwt "
            systemParameters:
              rules:
              - selector: "*"
                parameters:
                - name: api_key
                  urlQueryParameter: k
            """);

        var model = ConfigTestFiles.AssertLoaded(result);
        Assert.Equal("https://p.example/keys", model.Providers["p"].JwksUri);
        Assert.Equal("Jwt ", model.Providers["p"].JwtLocations[0].ValuePrefix);
        Assert.All(model.MethodsByPath.Values, m => Assert.Equal(["k"], m.ApiKeyLocations.QueryParameters));
    }

    public void Dispose() => _files.Dispose();
}
