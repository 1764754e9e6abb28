using Esp.Config;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Config;

/// <summary>One test per configuration error: the file, the line and what the message says.</summary>
public sealed class ValidationErrorTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    // --- The service ---

    [Fact]
    public void Load_NameMissing_ErrorForTheFile()
    {
        var (result, path) = _files.LoadBookstore("""
            type: google.api.Service
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            """);

        ConfigTestFiles.AssertSingleError(result, path, 0, "name is missing: give the service name");
        Assert.Equal($"{path}: name is missing: give the service name (e.g. bookstore.endpoints.PROJECT.cloud.goog)", result.Errors[0].ToString());
    }

    [Theory]
    [InlineData("name:")]
    [InlineData("name: \"\"")]
    [InlineData("name: '  '")]
    public void Load_NameEmpty_ErrorOnItsLine(string nameLine)
    {
        var (result, path) = _files.LoadBookstore($"""
            type: google.api.Service
            {nameLine}
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            """);

        ConfigTestFiles.AssertSingleError(result, path, 2, "name is empty");
        Assert.StartsWith($"{path}:2: name is empty", result.Errors[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TypeIsNotAService_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            type: google.api.Http
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            """);

        ConfigTestFiles.AssertSingleError(result, path, 1, "type is 'google.api.Http'; a service config has 'type: google.api.Service'");
    }

    [Fact]
    public void Load_ApiNotInTheDescriptor_ErrorListsTheDescriptorsServices()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            - name: endpoints.examples.bookstore.Library
            """);

        ConfigTestFiles.AssertSingleError(result, path, 4,
            "api 'endpoints.examples.bookstore.Library' is not a service of the descriptor " + ProtocDescriptors.Bookstore +
            "; it defines: endpoints.examples.bookstore.Bookstore");
    }

    // --- Providers ---

    [Fact]
    public void Load_ProviderWithoutId_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - issuer: issuer.example
            """);

        ConfigTestFiles.AssertSingleError(result, path, 6, "authentication.providers[0] has no id");
    }

    [Fact]
    public void Load_ProviderWithoutIssuer_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                jwks_uri: https://issuer.example/keys
              rules:
              - selector: "*"
                requirements:
                - provider_id: p
            """);

        // Only the one error: the rule naming the provider is not reported as well.
        ConfigTestFiles.AssertSingleError(result, path, 6, "authentication.providers[0] has no issuer");
    }

    [Fact]
    public void Load_DuplicateProviderIdInOneFile_ErrorNamesTheFirst()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: one.example
              - id: p
                issuer: two.example
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "provider id 'p' is used twice in this file (first on line 6)");
    }

    [Theory]
    [InlineData("https://issuer.example/", "issuer.example")]
    [InlineData("http://issuer.example", "https://issuer.example")]
    [InlineData("issuer.example", "issuer.example")]
    public void Load_TwoProvidersWithTheSameNormalizedIssuer_Error(string first, string second)
    {
        var (result, path) = _files.LoadBookstore($"""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: a
                issuer: {first}
              - id: b
                issuer: {second}
            """);

        ConfigTestFiles.AssertSingleError(result, path, 9, $"providers 'a' ({path}:7) and 'b' have the same issuer 'issuer.example'");
    }

    [Fact]
    public void Load_JwksUriNotAUrl_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: p.example
                jwks_uri: keys.json
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "jwks_uri 'keys.json' is not an absolute https://, http:// or file:// URL");
    }

    [Fact]
    public void Load_RequirementNamesAnUnknownProvider_ErrorListsTheDefinedOnes()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: firebase
                issuer: https://securetoken.google.com/p
              rules:
              - selector: "*"
                requirements:
                - provider_id: firebase
                - provider_id: fierbase
            """);

        ConfigTestFiles.AssertSingleError(result, path, 12, "provider_id 'fierbase' names no provider; defined: firebase");
    }

    [Fact]
    public void Load_RequirementWithoutProviderId_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              rules:
              - selector: "*"
                requirements:
                - audiences: a
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "authentication.rules[0].requirements[0] has no provider_id");
    }

    // --- JWT locations ---

    [Fact]
    public void Load_JwtLocationWithNoPlace_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: p.example
                jwt_locations:
                - value_prefix: "Bearer "
            """);

        ConfigTestFiles.AssertSingleError(result, path, 9, "authentication.providers[0].jwt_locations[0] gives no location: write one of header, query or cookie");
    }

    [Theory]
    [InlineData("header: X-Jwt", "query: jwt", "header and query")]
    [InlineData("query: jwt", "cookie: jwt", "query and cookie")]
    public void Load_JwtLocationWithTwoPlaces_Error(string one, string other, string named)
    {
        var (result, path) = _files.LoadBookstore($"""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: p.example
                jwt_locations:
                - {one}
                  {other}
            """);

        Assert.Null(result.Model);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.File);
        Assert.InRange(error.Line, 9, 10);
        Assert.Equal($"authentication.providers[0].jwt_locations[0] gives {named}: write exactly one of header, query or cookie (one location per entry)", error.Message);
    }

    [Fact]
    public void Load_ValuePrefixOnAQueryLocation_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: p.example
                jwt_locations:
                - query: access_token
                  value_prefix: "Bearer "
            """);

        ConfigTestFiles.AssertSingleError(result, path, 10, "authentication.providers[0].jwt_locations[0].value_prefix applies to a header only, not to a query");
    }

    // --- Backend rules ---

    [Theory]
    [InlineData("http://shelves:8000", "uses http://, which is not supported yet: the proxy forwards gRPC only")]
    [InlineData("https://shelves:8443", "uses https://, which is not supported yet")]
    [InlineData("tcp://shelves:8000", "has the scheme 'tcp': write grpc://host:port")]
    [InlineData("shelves:8000", "is not a URL")]
    [InlineData("grpc://shelves", "has no port")]
    [InlineData("grpc://[::1]", "has no port")]
    [InlineData("grpc://:8000", "has no host")]
    [InlineData("grpc://shelves:0", "has the port '0'")]
    [InlineData("grpc://shelves:http", "has the port 'http'")]
    [InlineData("grpc://shelves:8000/v1", "has a path, query or fragment")]
    [InlineData("grpcs://shelves:8443/?x=1", "has a path, query or fragment")]
    [InlineData("grpc://user@shelves:8000", "has user information")]
    public void Load_BackendAddressNotGrpcHostPort_Error(string address, string reason)
    {
        var (result, path) = _files.LoadBookstore($"""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            backend:
              rules:
              - selector: "*"
                address: {address}
            """);

        ConfigTestFiles.AssertSingleError(result, path, 7, $"backend.rules[0].address '{address}' {reason}");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1.5")]
    public void Load_DeadlineNotPositive_Error(string deadline)
    {
        var (result, path) = _files.LoadBookstore($"""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            backend:
              rules:
              - selector: "*"
                deadline: {deadline}
            """);

        ConfigTestFiles.AssertSingleError(result, path, 7, "backend.rules[0].deadline is");
        Assert.EndsWith("a deadline is a positive number of seconds", result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DeadlineNotANumber_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            backend:
              rules:
              - selector: "*"
                deadline: 5s
            """);

        ConfigTestFiles.AssertSingleError(result, path, 7, "backend.rules[0].deadline must be a number, not '5s'");
    }

    [Fact]
    public void Load_ProtocolNotH2_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            backend:
              rules:
              - selector: "*"
                address: grpc://shelves:8000
                protocol: http/1.1
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "backend.rules[0].protocol 'http/1.1' is not supported: gRPC backends speak h2");
    }

    [Fact]
    public void Load_JwtAudienceAndDisableAuth_ErrorTheyAreAOneof()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            backend:
              rules:
              - selector: "*"
                jwt_audience: https://shelves
                disable_auth: true
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "backend.rules[0] gives both jwt_audience and disable_auth");
    }

    [Fact]
    public void Load_DefaultBackendInvalid_ErrorForTheFlag()
    {
        var path = _files.Write("api_config.yaml", "name: bookstore.test\napis:\n- name: endpoints.examples.bookstore.Bookstore\n");

        var result = ServiceConfigLoader.Load(new ConfigSources
        {
            DescriptorPath = ProtocDescriptors.Bookstore,
            ServiceConfigPaths = [path],
            DefaultBackend = "127.0.0.1:8081",
        });

        ConfigTestFiles.AssertSingleError(result, "--backend", 0, "address '127.0.0.1:8081' is not a URL");
        Assert.StartsWith("--backend: address", result.Errors[0].ToString(), StringComparison.Ordinal);
    }

    // --- System parameters ---

    [Fact]
    public void Load_ApiKeyParameterWithNoPlace_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            system_parameters:
              rules:
              - selector: "*"
                parameters:
                - name: api_key
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "gives neither http_header nor url_query_parameter for 'api_key'");
    }

    // --- Selectors ---

    [Fact]
    public void Load_SelectorMissing_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules:
              - allow_unregistered_calls: true
            """);

        ConfigTestFiles.AssertSingleError(result, path, 6, "usage.rules[0].selector is missing");
    }

    [Fact]
    public void Load_SelectorMalformed_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules:
              - selector: endpoints.examples.bookstore.Book*
                allow_unregistered_calls: true
            """);

        ConfigTestFiles.AssertSingleError(result, path, 6, "usage.rules[0].selector pattern 'endpoints.examples.bookstore.Book*' is not valid");
    }

    [Fact]
    public void Load_SelectorMatchesNoMethod_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: p.example
              rules:
              - selector: endpoints.examples.bookstore.Bookstore.ListShelfs
                requirements:
                - provider_id: p
            """);

        ConfigTestFiles.AssertSingleError(result, path, 9,
            "selector 'endpoints.examples.bookstore.Bookstore.ListShelfs' in authentication.rules matches no method; the apis are endpoints.examples.bookstore.Bookstore");
    }

    // --- Types and field names ---

    [Fact]
    public void Load_NonBooleanWhereABooleanBelongs_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules:
              - selector: "*"
                allow_unregistered_calls: yes
            """);

        ConfigTestFiles.AssertSingleError(result, path, 7, "usage.rules[0].allow_unregistered_calls must be true or false, not 'yes'");
    }

    [Fact]
    public void Load_ListWhereAMapBelongs_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
            - providers: []
            """);

        ConfigTestFiles.AssertSingleError(result, path, 5, "authentication must be a map (fields: providers, rules), not a list");
    }

    [Fact]
    public void Load_MapWhereAListBelongs_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules:
                selector: "*"
                allow_unregistered_calls: true
            """);

        ConfigTestFiles.AssertSingleError(result, path, 6, "usage.rules must be a list, not a map");
    }

    [Fact]
    public void Load_MapWhereAStringBelongs_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer:
                  url: p.example
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "authentication.providers[0].issuer must be a string, not a map");
    }

    [Fact]
    public void Load_UnknownFieldInASection_ErrorListsTheAllowedNames()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuers: p.example
            """);

        Assert.Null(result.Model);
        Assert.Equal(2, result.Errors.Count); // the misspelt field, and so no issuer
        var unknown = result.Errors.Single(e => e.Line == 7);
        Assert.Equal(path, unknown.File);
        Assert.Equal("unknown field 'issuers' in authentication.providers[0]; allowed: id, issuer, jwks_uri, audiences, authorization_url, jwt_locations", unknown.Message);
    }

    [Fact]
    public void Load_FieldInBothSpellings_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules:
              - selector: "*"
                allow_unregistered_calls: true
                allowUnregisteredCalls: false
            """);

        ConfigTestFiles.AssertSingleError(result, path, 8, "usage.rules[0].allow_unregistered_calls is given twice (also on line 7)");
    }

    [Fact]
    public void Load_UnknownAndUnimplementedTopLevelSections_WarningsOnly()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            quota: {}
            cors: true
            """);

        ConfigTestFiles.AssertLoaded(result);
        Assert.Equal(
            [new ConfigDiagnostic(path, 4, "section quota is not implemented yet; ignored"), new ConfigDiagnostic(path, 5, "unknown section 'cors'; ignored")],
            result.Warnings);
    }

    [Fact]
    public void Load_UnimplementedFieldOfAnImplementedSection_Warning()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            backend:
              rules:
              - selector: "*"
                path_translation: APPEND_PATH_TO_ADDRESS
            """);

        ConfigTestFiles.AssertLoaded(result);
        Assert.Equal([new ConfigDiagnostic(path, 7, "backend.rules[0].path_translation is not implemented yet; ignored")], result.Warnings);
    }

    // --- Files ---

    [Fact]
    public void Load_MalformedYaml_ErrorWithPosition()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            usage:
              rules: [
            """);

        Assert.Null(result.Model);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.File);
        Assert.InRange(error.Line, 5, 6);
        Assert.StartsWith("not valid YAML or JSON: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DuplicateKey_ErrorWithPosition()
    {
        var (result, path) = _files.LoadBookstore("""
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            name: other.test
            """);

        ConfigTestFiles.AssertSingleError(result, path, 4, "not valid YAML or JSON: Duplicate key name");
    }

    [Fact]
    public void Load_MalformedJson_ErrorWithPosition()
    {
        var path = _files.Write("service.json", """
            {
              "name": "bookstore.test",
              "apis": [{"name": "endpoints.examples.bookstore.Bookstore"}
              "usage": {}
            }
            """);

        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, path);

        Assert.Null(result.Model);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.File);
        Assert.InRange(error.Line, 3, 4);
        Assert.StartsWith("not valid YAML or JSON: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigNotAMap_Error()
    {
        var (result, path) = _files.LoadBookstore("""
            - name: bookstore.test
            """);

        ConfigTestFiles.AssertSingleError(result, path, 1, "a service config is a map of sections");
    }

    [Fact]
    public void Load_EmptyFile_Error()
    {
        var (result, path) = _files.LoadBookstore("# nothing here\n");

        ConfigTestFiles.AssertSingleError(result, path, 0, "the file is empty");
    }

    [Fact]
    public void Load_UnreadableConfigFile_Error()
    {
        var missing = Path.Combine(Path.GetTempPath(), "esp-no-such-dir", "api_config.yaml");

        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, missing);

        ConfigTestFiles.AssertSingleError(result, missing, 0, "cannot read: no such file");
        Assert.Equal($"{missing}: cannot read: no such file", result.Errors[0].ToString());
    }

    [Fact]
    public void Load_DirectoryAsConfigFile_Error()
    {
        var directory = Path.GetTempPath();

        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, directory);

        ConfigTestFiles.AssertSingleError(result, directory, 0, "cannot read: it is a directory, not a file");
    }

    [Fact]
    public void Load_DescriptorIsNotADescriptorSet_Error()
    {
        var config = ConfigTestFiles.Sample("api_config.yaml");

        var result = ConfigTestFiles.Load(config, config);

        ConfigTestFiles.AssertSingleError(result, config, 0, "not a FileDescriptorSet");
        Assert.Contains("protoc --include_imports --descriptor_set_out=FILE", result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DescriptorGivenAsTheConfig_ErrorSaysItIsNotText()
    {
        var descriptor = ProtocDescriptors.Bookstore;

        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, descriptor);

        ConfigTestFiles.AssertSingleError(result, descriptor, 0, "not a text file: a service config is YAML or JSON (a descriptor set goes in --descriptor");
    }

    [Fact]
    public void Load_AliasLoop_ErrorNotACrash()
    {
        var (result, path) = _files.LoadBookstore("name: &x [*x]\n");

        ConfigTestFiles.AssertSingleError(result, path, 1, "nested more than 32 levels deep");
    }

    [Fact]
    public void Load_EmptyDescriptor_Error()
    {
        var descriptor = _files.Write("empty.pb", "");

        var result = ConfigTestFiles.Load(descriptor, ConfigTestFiles.Sample("api_config.yaml"));

        ConfigTestFiles.AssertSingleError(result, descriptor, 0, "not a FileDescriptorSet (it holds no named .proto files)");
    }

    [Fact]
    public void Load_NoDescriptorAndNoServiceJson_Error()
    {
        var result = ServiceConfigLoader.Load(new ConfigSources { ServiceConfigPaths = [ConfigTestFiles.Sample("api_config.yaml")] });

        ConfigTestFiles.AssertSingleError(result, "--descriptor", 0, "no descriptor: give --descriptor=FILE");
    }

    [Fact]
    public void Load_NoServiceConfig_Error()
    {
        var result = ServiceConfigLoader.Load(new ConfigSources { DescriptorPath = ProtocDescriptors.Bookstore });

        ConfigTestFiles.AssertSingleError(result, "--service_config", 0, "no service config");
    }

    [Fact]
    public void Load_ServiceJsonApiWithoutMethods_Error()
    {
        var json = _files.Write("service.json", """{"name": "echo.test", "apis": [{"name": "esp.interop.Echo"}]}""");

        var result = ServiceConfigLoader.Load(new ConfigSources { ServiceJsonPath = json });

        ConfigTestFiles.AssertSingleError(result, json, 1, "api 'esp.interop.Echo' lists no methods: without --descriptor, apis[].methods must name them");
    }

    // --- Several at once ---

    [Fact]
    public void Load_SeveralErrorsInSeveralFiles_ReportsAllInFileAndLineOrder()
    {
        var first = _files.Write("a.yaml", """
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: p.example
                jwt_locations:
                - query: t
                  value_prefix: x
              rules:
              - selector: "*"
                requirements:
                - provider_id: q
            """);
        var second = _files.Write("b.yaml", """
            usage:
              rules:
              - selector: endpoints.examples.bookstore.Bookstore.Nope
                allow_unregistered_calls: maybe
            backend:
              rules:
              - selector: "*"
                address: http://backend:80
                deadline: 0
            """);

        var result = ServiceConfigLoader.Load(new ConfigSources
        {
            DescriptorPath = ProtocDescriptors.Bookstore,
            ServiceConfigPaths = [first, second],
            DefaultBackend = "grpc://backend",
        });

        Assert.Null(result.Model);
        Assert.Equal(
            [
                "--backend: address 'grpc://backend' has no port: write scheme://host:port",
                $"{first}:10: authentication.providers[0].jwt_locations[0].value_prefix applies to a header only, not to a query",
                $"{first}:14: provider_id 'q' names no provider; defined: p",
                $"{second}:3: selector 'endpoints.examples.bookstore.Bookstore.Nope' in usage.rules matches no method; the apis are endpoints.examples.bookstore.Bookstore",
                $"{second}:4: usage.rules[0].allow_unregistered_calls must be true or false, not 'maybe'",
                $"{second}:8: backend.rules[0].address 'http://backend:80' uses http://, which is not supported yet: the proxy forwards gRPC only; write grpc://host:port (or grpcs://host:port for TLS)",
                $"{second}:9: backend.rules[0].deadline is 0; a deadline is a positive number of seconds",
            ],
            result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Load_SyntaxErrorInOneFile_NoCascadeOfMissingThings()
    {
        var broken = _files.Write("a.yaml", "name: bookstore.test\napis: [\n");
        var valid = _files.Write("b.yaml", """
            usage:
              rules:
              - selector: "*"
                allow_unregistered_calls: true
            """);

        var result = ConfigTestFiles.Load(ProtocDescriptors.Bookstore, broken, valid);

        var error = Assert.Single(result.Errors);
        Assert.Equal(broken, error.File);
    }

    [Fact]
    public void Load_SameProviderIdInTwoFiles_TheLaterReplacesItWithoutError()
    {
        var first = _files.Write("a.yaml", """
            name: bookstore.test
            apis:
            - name: endpoints.examples.bookstore.Bookstore
            authentication:
              providers:
              - id: p
                issuer: old.example
            """);
        var second = _files.Write("b.yaml", """
            authentication:
              providers:
              - id: p
                issuer: new.example
            """);

        var model = ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ProtocDescriptors.Bookstore, first, second));

        Assert.Equal("new.example", Assert.Single(model.Providers).Value.Issuer);
    }

    public void Dispose() => _files.Dispose();
}
