using System.Text;
using Esp.ApiKeys;
using Xunit;

namespace Esp.Tests.ApiKeys;

/// <summary>The store file: what it accepts, every problem it reports by line, and what it writes.</summary>
public sealed class ApiKeyStoreFileTests
{
    private const string Hash1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private const string Hash2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    private static ApiKeyStoreReadResult Parse(string yaml) => ApiKeyStoreFile.Parse("keys.yaml", Encoding.UTF8.GetBytes(yaml));

    [Fact]
    public void Parse_EveryField_ReadAsWritten()
    {
        var result = Parse($"""
            keys:
              - consumer: mobile-app
                sha256: {Hash1}
                created: 2026-11-22T03:10:00Z
                expires: 2027-01-01T00:00:00+01:00
                selectors: [a.B.C, a.B.*]
                disabled: true
              - consumer: web
                sha256: "{Hash2.ToUpperInvariant()}"
                created: "2026-11-22"
            """);

        Assert.Empty(result.Errors);
        var keys = result.Store!.Keys;
        Assert.Equal(2, keys.Count);
        Assert.Equal("mobile-app", keys[0].Consumer);
        Assert.Equal(Hash1, Convert.ToHexStringLower(keys[0].Sha256));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 3, 10, 0, TimeSpan.Zero), keys[0].Created);
        Assert.Equal(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.Zero), keys[0].Expires);
        Assert.Equal(["a.B.C", "a.B.*"], keys[0].Selectors);
        Assert.True(keys[0].Disabled);
        Assert.Equal(Hash2, Convert.ToHexStringLower(keys[1].Sha256));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero), keys[1].Created);
        Assert.Null(keys[1].Expires);
        Assert.Empty(keys[1].Selectors);
        Assert.False(keys[1].Disabled);
    }

    [Theory]
    [InlineData("keys: []")]
    [InlineData("# none yet\nkeys:\n")]
    public void Parse_NoKeys_EmptyStore(string yaml)
    {
        var result = Parse(yaml);

        Assert.Empty(result.Errors);
        Assert.Empty(result.Store!.Keys);
    }

    /// <summary>What a reload sees while a file is rewritten in place: never "no keys", which would refuse every caller.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n\n")]
    public void Parse_EmptyFile_Refused(string yaml)
    {
        var result = Parse(yaml);

        Assert.Null(result.Store);
        Assert.Equal("keys.yaml: the file is empty; an API key store is a map with a 'keys:' list ('keys: []' for none)", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Parse_ManyProblems_EveryOneReportedWithItsLine_InLineOrder_NoStore()
    {
        var result = Parse($"""
            keys:
              - consumer: good
                sha256: {Hash2}
                created: 2026-11-22T03:10:00Z
              - consumer: "bad name"
                sha256: abc
                created: yesterday
              - sha256: {Hash1}
                created: 2026-11-22T03:10:00
                expires: 2027-01-01
                selectors: ["a..b"]
                disabled: maybe
                colour: blue
              - consumer: twice
                sha256: {Hash2}
                created: 2026-11-22T03:10:00Z
            """);

        Assert.Null(result.Store);
        var errors = result.Errors.Select(e => e.ToString()).ToList();
        string[] expected =
        [
            "keys.yaml:5: keys[1].consumer 'bad name' is not a valid consumer name",
            "keys.yaml:6: keys[1].sha256 must be 64 hex digits",
            "keys.yaml:7: keys[1].created 'yesterday' is not a timestamp",
            "keys.yaml:8: keys[2].consumer is missing",
            "keys.yaml:9: keys[2].created '2026-11-22T03:10:00' is not a timestamp",
            "keys.yaml:11: keys[2].selectors: each item is a method selector",
            "keys.yaml:12: keys[2].disabled must be true or false",
            "keys.yaml:13: unknown field 'colour' in keys[2]",
            "keys.yaml:15: keys[3].sha256 is the hash of a key listed already (line 3)",
        ];
        Assert.Equal(expected.Length, errors.Count);
        for (var i = 0; i < expected.Length; i++)
            Assert.StartsWith(expected[i], errors[i], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("keys: [", "keys.yaml:2: not valid YAML")]
    [InlineData("- consumer: a", "keys.yaml:1: an API key store is a map with a 'keys:' list, not a list")]
    [InlineData("tokens: []", "keys.yaml:1: unknown field 'tokens'")]
    [InlineData("keys: {consumer: a}", "keys.yaml:1: keys must be a list")]
    public void Parse_WrongShape_SaysWhatAStoreLooksLike(string yaml, string expected)
    {
        var result = Parse(yaml);

        Assert.Null(result.Store);
        Assert.StartsWith(expected, Assert.Single(result.Errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingFile_SaysHowToCreateOne()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-store-{Guid.NewGuid():N}.yaml");

        var result = ApiKeyStoreFile.Read(path);

        Assert.Null(result.Store);
        Assert.Equal($"{path}: does not exist: create it with esp apikeys create --store {path} --consumer NAME", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Format_ThenParse_SameKeys()
    {
        ApiKeyRecord[] keys =
        [
            new() { Consumer = "a@b.example", Sha256 = Convert.FromHexString(Hash1), Created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero) },
            new()
            {
                Consumer = "svc.web-2", Sha256 = Convert.FromHexString(Hash2), Created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
                Expires = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), Selectors = ["x.Y.Z", "x.*"], Disabled = true,
            },
        ];

        var result = Parse(ApiKeyStoreFile.Format(keys));

        Assert.Empty(result.Errors);
        Assert.Equal(2, result.Store!.Keys.Count);
        for (var i = 0; i < keys.Length; i++)
        {
            var read = result.Store.Keys[i];
            Assert.Equal(keys[i].Consumer, read.Consumer);
            Assert.Equal(keys[i].Sha256, read.Sha256);
            Assert.Equal(keys[i].Created, read.Created);
            Assert.Equal(keys[i].Expires, read.Expires);
            Assert.Equal(keys[i].Selectors, read.Selectors);
            Assert.Equal(keys[i].Disabled, read.Disabled);
        }
    }

    [Theory]
    [InlineData("2027-01-01", "2027-01-01T00:00:00Z")]
    [InlineData("2027-01-01T12:30:00Z", "2027-01-01T12:30:00Z")]
    [InlineData("2027-01-01T12:30:00-02:00", "2027-01-01T14:30:00Z")]
    public void TryParseTimestamp_DateOrZonedTime(string text, string utc)
    {
        Assert.True(ApiKeyStoreFile.TryParseTimestamp(text, out var value));
        Assert.Equal(utc, ApiKeyStoreFile.FormatTimestamp(value));
    }

    [Theory]
    [InlineData("2027-01-01T12:30:00")]
    [InlineData("01/02/2027")]
    [InlineData("tomorrow")]
    [InlineData("")]
    public void TryParseTimestamp_NoZoneOrNotATime_Refused(string text) =>
        Assert.False(ApiKeyStoreFile.TryParseTimestamp(text, out _));

    [Theory]
    [InlineData("mobile-app")]
    [InlineData("a")]
    [InlineData("ci@project.iam.gserviceaccount.com")]
    [InlineData("team.web_2+beta")]
    public void ConsumerProblem_ValidNames_None(string name) => Assert.Null(ApiKeyStoreFile.ConsumerProblem(name));

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("two words")]
    [InlineData("new\nline")]
    [InlineData("quote\"")]
    [InlineData("é")]
    public void ConsumerProblem_HeaderUnsafeOrOdd_Refused(string name) => Assert.NotNull(ApiKeyStoreFile.ConsumerProblem(name));

    [Fact]
    public void ConsumerProblem_129Characters_Refused() => Assert.NotNull(ApiKeyStoreFile.ConsumerProblem(new string('a', 129)));
}
