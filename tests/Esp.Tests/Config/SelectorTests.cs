using Esp.Config;
using Xunit;

namespace Esp.Tests.Config;

/// <summary>Selector syntax and matching, alone and as rules apply them to a descriptor's methods.</summary>
public sealed class SelectorTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    [Theory]
    [InlineData("*", "shelf.Books.Get", true)]
    [InlineData("shelf.Books.Get", "shelf.Books.Get", true)]
    [InlineData("shelf.Books.Get", "shelf.Books.GetAll", false)]
    [InlineData("shelf.books.get", "shelf.Books.Get", false)]
    [InlineData("shelf.Books.*", "shelf.Books.Get", true)]
    [InlineData("shelf.Books.*", "shelf.Books.Nested.Get", true)]
    [InlineData("shelf.Books.*", "shelf.BooksAdmin.Get", false)]
    [InlineData("shelf.Books.*", "shelf.Books", false)]
    [InlineData("shelf.*", "shelf.BooksAdmin.Purge", true)]
    [InlineData("a.b.*", "a.bc.X", false)]
    public void PatternMatches_Pattern_MatchesWholeComponentsOnly(string pattern, string method, bool expected) =>
        Assert.Equal(expected, Selector.PatternMatches(pattern, method));

    [Theory]
    [InlineData("a.b*")]
    [InlineData("a.*.c")]
    [InlineData("*.Get")]
    [InlineData("a..b")]
    [InlineData("a.b.")]
    [InlineData("a.b-c")]
    [InlineData("**")]
    public void Parse_MalformedPattern_ErrorNamesThePattern(string pattern)
    {
        var diagnostics = new ConfigDiagnostics();

        var selector = Selector.Parse($"shelf.Books.Get, {pattern}", new SourcePosition("f.yaml", 7), "usage.rules[0].selector", diagnostics);

        Assert.Null(selector);
        var error = Assert.Single(diagnostics.Errors);
        Assert.Equal(new ConfigDiagnostic("f.yaml", 7, error.Message), error);
        Assert.StartsWith($"usage.rules[0].selector pattern '{pattern}' is not valid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CommaListWithSpaces_TrimsEachPattern()
    {
        var selector = Selector.Parse(" shelf.Books.Get ,shelf.BooksAdmin.* ", new SourcePosition("f.yaml", 1), "selector", new ConfigDiagnostics());

        Assert.NotNull(selector);
        Assert.Equal(["shelf.Books.Get", "shelf.BooksAdmin.*"], selector.Patterns);
        Assert.True(selector.Matches("shelf.BooksAdmin.Purge"));
        Assert.False(selector.Matches("shelf.Books.Watch"));
    }

    [Fact]
    public void Load_RulesInFileOrder_LastMatchingRuleWinsPerMethod()
    {
        var model = LoadUsage("""
              - selector: "*"
                allow_unregistered_calls: true
              - selector: shelf.Books.*
                allow_unregistered_calls: false
              - selector: shelf.Books.Watch
                allow_unregistered_calls: true
            """);

        Assert.Equal(
            ["shelf.Books.Watch", "shelf.BooksAdmin.Get", "shelf.BooksAdmin.Purge"],
            model.MethodsByPath.Values.Where(m => m.AllowUnregisteredCalls).Select(m => m.Selector).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_TrailingWildcard_DoesNotMatchAServiceThatSharesThePrefix()
    {
        var model = LoadUsage("""
              - selector: shelf.Books.*
                allow_unregistered_calls: true
            """);

        Assert.Equal(
            ["shelf.Books.Chat", "shelf.Books.Get", "shelf.Books.Upload", "shelf.Books.Watch"],
            model.MethodsByPath.Values.Where(m => m.AllowUnregisteredCalls).Select(m => m.Selector).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_CommaSeparatedExactNames_MatchEachAndNothingElse()
    {
        var model = LoadUsage("""
              - selector: shelf.Books.Get,shelf.BooksAdmin.Purge
                allow_unregistered_calls: true
            """);

        Assert.Equal(
            ["shelf.Books.Get", "shelf.BooksAdmin.Purge"],
            model.MethodsByPath.Values.Where(m => m.AllowUnregisteredCalls).Select(m => m.Selector).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_OnePatternOfAListMatchesNothing_ErrorNamesThatPattern()
    {
        var path = _files.Write("api_config.yaml", """
            name: shelf.test
            apis:
            - name: shelf.Books
            - name: shelf.BooksAdmin
            usage:
              rules:
              - selector: shelf.Books.Get, shelf.Books.Gett
                allow_unregistered_calls: true
            """);

        var result = ConfigTestFiles.Load(ConfigTestFiles.SelectorsDescriptor, path);

        ConfigTestFiles.AssertSingleError(result, path, 7, "selector 'shelf.Books.Gett' in usage.rules matches no method");
    }

    [Fact]
    public void Load_MethodsOnlyFromTheListedApis_SelectorOnAnUnlistedServiceIsAnError()
    {
        var path = _files.Write("api_config.yaml", """
            name: shelf.test
            apis:
            - name: shelf.Books
            usage:
              rules:
              - selector: shelf.BooksAdmin.*
                allow_unregistered_calls: true
            """);

        var result = ConfigTestFiles.Load(ConfigTestFiles.SelectorsDescriptor, path);

        ConfigTestFiles.AssertSingleError(result, path, 6, "selector 'shelf.BooksAdmin.*' in usage.rules matches no method; the apis are shelf.Books");
    }

    [Fact]
    public void Load_SelectorNamesAService_ErrorSuggestsTheWildcard()
    {
        var path = _files.Write("api_config.yaml", """
            name: shelf.test
            apis:
            - name: shelf.Books
            backend:
              rules:
              - selector: shelf.Books
                deadline: 3
            """);

        var result = ConfigTestFiles.Load(ConfigTestFiles.SelectorsDescriptor, path);

        ConfigTestFiles.AssertSingleError(result, path, 6, "'shelf.Books' is a service: write 'shelf.Books.*' for all its methods");
    }

    private ServiceModel LoadUsage(string rules)
    {
        var path = _files.Write("api_config.yaml", $"""
            name: shelf.test
            apis:
            - name: shelf.Books
            - name: shelf.BooksAdmin
            usage:
              rules:
            {rules}
            """);
        return ConfigTestFiles.AssertLoaded(ConfigTestFiles.Load(ConfigTestFiles.SelectorsDescriptor, path));
    }

    public void Dispose() => _files.Dispose();
}
