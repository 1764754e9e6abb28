using Esp.Grpc.Http2.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// The server's header collection behaves as ASP.NET's <see cref="HeaderDictionary"/> does for
/// everything an application or middleware may call, short lists and long (indexed) ones alike.
/// </summary>
public sealed class HeaderFieldListTests
{
    [Fact]
    public void MissingName_IndexerEmpty_TryGetValueFalse()
    {
        var fields = new HeaderFieldList();
        fields.Append("content-type", "application/grpc");

        Assert.Equal(StringValues.Empty, fields["te"]);
        Assert.False(fields.TryGetValue("te", out _));
        Assert.Throws<KeyNotFoundException>(() => ((IDictionary<string, StringValues>)fields)["te"]);
    }

    [Fact]
    public void NamesCompareIgnoringCase_TheFirstSpellingKept()
    {
        var fields = new HeaderFieldList();
        fields.Append("content-type", "application/grpc");
        fields["Content-Type"] = "application/grpc+proto";

        Assert.Equal("application/grpc+proto", ((IHeaderDictionary)fields).ContentType);
        Assert.Equal("content-type", Assert.Single(fields).Key);
    }

    [Fact]
    public void Append_RepeatedName_ValuesInOneField()
    {
        var fields = new HeaderFieldList();
        fields.Append("x-trace", "a");
        fields.Append("user-agent", "grpc-python");
        fields.Append("X-Trace", "b");

        Assert.Equal("a,b", fields["x-trace"].ToString());
        Assert.Equal(2, fields.Count);
    }

    [Fact]
    public void SetNoValues_Removes_KeepsTheOthersInOrder()
    {
        var fields = new HeaderFieldList();
        foreach (var name in new[] { "a", "b", "c", "d" })
            fields.Append(name, name);

        fields["b"] = StringValues.Empty;

        Assert.Equal(["a", "c", "d"], fields.Select(field => field.Key));
        Assert.False(fields.ContainsKey("b"));
    }

    [Fact]
    public void ReadOnly_EveryChangeThrows()
    {
        var fields = new HeaderFieldList();
        fields.Append("a", "1");
        fields.IsReadOnly = true;

        Assert.Throws<InvalidOperationException>(() => fields["a"] = "2");
        Assert.Throws<InvalidOperationException>(() => fields.Append("b", "1"));
        Assert.Throws<InvalidOperationException>(() => fields.Add("b", "1"));
        Assert.Throws<InvalidOperationException>(() => fields.Remove("a"));
        Assert.Throws<InvalidOperationException>(fields.Clear);
        Assert.Equal("1", fields["a"]);
    }

    [Fact]
    public void Add_PresentName_Throws()
    {
        var fields = new HeaderFieldList();
        fields.Add("a", "1");

        Assert.Throws<ArgumentException>(() => fields.Add("A", "2"));
    }

    [Fact]
    public void ContentLength_ParsedAndFormatted()
    {
        var fields = new HeaderFieldList();
        Assert.Null(fields.ContentLength);

        fields.ContentLength = 42;
        Assert.Equal("42", fields["content-length"]);
        fields["Content-Length"] = "x";
        Assert.Null(fields.ContentLength);
        fields.ContentLength = null;
        Assert.False(fields.ContainsKey("content-length"));
        Assert.Throws<ArgumentOutOfRangeException>(() => fields.ContentLength = -1);
    }

    /// <summary>
    /// The same random operations on both collections, past the length where lookups go through the
    /// index and back below it, agree after every step.
    /// </summary>
    [Fact]
    public void RandomOperations_AgreeWithHeaderDictionary()
    {
        var random = new Random(7);
        var names = Enumerable.Range(0, 40).Select(i => $"x-field-{i}").ToArray();
        var ours = new HeaderFieldList();
        var theirs = new HeaderDictionary();
        for (var step = 0; step < 5_000; step++)
        {
            var name = names[random.Next(random.Next(2) == 0 ? 8 : names.Length)];
            if (random.Next(3) == 0)
                name = name.ToUpperInvariant();
            var value = $"v{step}";
            switch (random.Next(5))
            {
                case 0:
                    ours.Append(name, value);
                    theirs.Append(name, value);
                    break;
                case 1:
                    ours[name] = value;
                    theirs[name] = value;
                    break;
                case 2:
                    Assert.Equal(theirs.Remove(name), ours.Remove(name));
                    break;
                case 3 when random.Next(20) == 0:
                    ours.Clear();
                    theirs.Clear();
                    break;
                default:
                    Assert.Equal(theirs.TryGetValue(name, out var expected), ours.TryGetValue(name, out var actual));
                    Assert.Equal(expected, actual);
                    break;
            }
            Assert.Equal(theirs.Count, ours.Count);
            Assert.Equal(Sorted(theirs), Sorted(ours));
        }
    }

    [Fact]
    public void LongList_LookupsAndRemovalsThroughTheIndex()
    {
        var fields = new HeaderFieldList();
        for (var i = 0; i < 100; i++)
            fields.Append($"x-{i}", $"{i}");

        Assert.True(fields.Remove("X-10"));
        Assert.Equal("11", fields["x-11"]);
        Assert.Equal("99", fields["X-99"]);
        fields.Append("x-10", "again");

        Assert.Equal("again", fields["x-10"]);
        Assert.Equal("x-10", fields.Last().Key);
        Assert.Equal(100, fields.Count);
    }

    private static string[] Sorted(IHeaderDictionary headers) =>
        [.. headers.Select(field => $"{field.Key.ToLowerInvariant()}={field.Value}").Order(StringComparer.Ordinal)];
}
