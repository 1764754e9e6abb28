using System.Text;
using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

public class HpackStaticTableTests
{
    [Theory]
    [InlineData(1, ":authority", "")]
    [InlineData(2, ":method", "GET")]
    [InlineData(8, ":status", "200")]
    [InlineData(16, "accept-encoding", "gzip, deflate")]
    [InlineData(31, "content-type", "")]
    [InlineData(61, "www-authenticate", "")]
    public void NameAndValue_RfcIndices(int index, string name, string value)
    {
        Assert.Equal(name, Encoding.Latin1.GetString(HpackStaticTable.Name(index)));
        Assert.Equal(value, Encoding.Latin1.GetString(HpackStaticTable.Value(index)));
    }

    [Fact]
    public void Find_EveryEntry_FoundAtItsIndexAndItsNameAtTheFirstIndexWithIt()
    {
        for (var index = 1; index <= HpackStaticTable.Count; index++)
        {
            var name = HpackStaticTable.Name(index);
            var first = HpackStaticTable.FindName(name);

            Assert.Equal(index, HpackStaticTable.Find(name, HpackStaticTable.Value(index)));
            Assert.InRange(first, 1, index);
            Assert.True(HpackStaticTable.Name(first).SequenceEqual(name));
            Assert.True(first == 1 || !HpackStaticTable.Name(first - 1).SequenceEqual(name));
        }
    }

    [Theory]
    [InlineData(":method", "PUT", 2, 0)]
    [InlineData(":status", "500", 8, 14)]
    [InlineData(":status", "201", 8, 0)]
    [InlineData("content-type", "application/grpc", 31, 0)]
    [InlineData("grpc-status", "0", 0, 0)]
    [InlineData("Content-Type", "", 0, 0)]
    [InlineData("", "", 0, 0)]
    [InlineData("content-typ", "", 0, 0)]
    public void Find_OtherPairs_NameIndexAndPairIndexOrZero(string name, string value, int nameIndex, int pairIndex)
    {
        Assert.Equal(nameIndex, HpackStaticTable.FindName(Latin1(name)));
        Assert.Equal(pairIndex, HpackStaticTable.Find(Latin1(name), Latin1(value)));
    }
}
