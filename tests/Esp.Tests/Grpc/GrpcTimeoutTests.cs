using Esp.Grpc.Protocol;
using Xunit;

namespace Esp.Tests.Grpc;

public class GrpcTimeoutTests
{
    public static TheoryData<string, TimeSpan> ValidTimeouts => new()
    {
        { "1H", TimeSpan.FromHours(1) },
        { "2M", TimeSpan.FromMinutes(2) },
        { "3S", TimeSpan.FromSeconds(3) },
        { "4m", TimeSpan.FromMilliseconds(4) },
        { "5u", TimeSpan.FromMicroseconds(5) },
        { "100n", TimeSpan.FromTicks(1) },
        { "1n", TimeSpan.FromTicks(1) },
        { "101n", TimeSpan.FromTicks(2) },
        { "0S", TimeSpan.Zero },
        { "00000010S", TimeSpan.FromSeconds(10) },
        { "99999999S", TimeSpan.FromSeconds(99_999_999) },
        { "99999999H", TimeSpan.FromHours(99_999_999) },
        { "99999999n", TimeSpan.FromTicks(1_000_000) },
    };

    [Theory]
    [MemberData(nameof(ValidTimeouts))]
    public void TryParse_DigitsAndUnit_Parses(string value, TimeSpan expected)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var timeout));
        Assert.Equal(expected, timeout);
    }

    [Theory]
    [InlineData("123456789S")]
    [InlineData("100")]
    [InlineData("S")]
    [InlineData("")]
    [InlineData("10x")]
    [InlineData("10s")]
    [InlineData("10h")]
    [InlineData("10U")]
    [InlineData("10N")]
    [InlineData("-1S")]
    [InlineData("+1S")]
    [InlineData(" 1S")]
    [InlineData("1 S")]
    [InlineData("1S ")]
    [InlineData("1.5S")]
    [InlineData("1,5S")]
    [InlineData("1e3m")]
    [InlineData("0x1S")]
    [InlineData("\uFF11S")]
    [InlineData("1SS")]
    public void TryParse_InvalidValue_Rejected(string value)
    {
        Assert.False(GrpcTimeout.TryParse(value, out _));
    }

    public static TheoryData<TimeSpan, string> Formats => new()
    {
        { TimeSpan.FromTicks(-5), "1n" },
        { TimeSpan.Zero, "1n" },
        { TimeSpan.FromTicks(1), "100n" },
        { TimeSpan.FromMilliseconds(1), "1000000n" },
        { TimeSpan.FromTicks(999_999), "99999900n" },
        { TimeSpan.FromTicks(1_000_000), "100000u" },
        { TimeSpan.FromTicks(1_000_001), "100001u" },
        { TimeSpan.FromSeconds(1), "1000000u" },
        { TimeSpan.FromTicks(999_999_990), "99999999u" },
        { TimeSpan.FromSeconds(100), "100000m" },
        { TimeSpan.FromTicks(1_000_000_001), "100001m" },
        { TimeSpan.FromDays(1), "86400000m" },
        { TimeSpan.FromDays(30), "2592000S" },
        { TimeSpan.FromDays(3650), "5256000M" },
        { TimeSpan.FromDays(100_000), "2400000H" },
        { TimeSpan.MaxValue, "99999999H" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Format_Timeout_FinestUnitThatFitsEightDigitsRoundedUp(TimeSpan timeout, string expected)
    {
        Assert.Equal(expected, GrpcTimeout.Format(timeout));
    }

    [Fact]
    public void Format_TimeoutsOfEveryMagnitude_ParseBackToAtLeastTheTimeoutInTheFinestUnit()
    {
        var random = new Random(20_240_501);
        for (var i = 0; i < 5000; i++)
        {
            // Up to ~3.2e18 ticks: below 99999999H, the largest timeout the header can carry.
            var ticks = (long)Math.Pow(10, random.NextDouble() * 18.5) + random.Next(0, 100);
            var timeout = TimeSpan.FromTicks(ticks);

            var formatted = GrpcTimeout.Format(timeout);

            Assert.InRange(formatted.Length, 2, 9);
            Assert.True(GrpcTimeout.TryParse(formatted, out var parsed), formatted);
            Assert.True(parsed >= timeout, $"{timeout} formatted as {formatted} parses back to {parsed}.");
            Assert.True(parsed - timeout < TimeSpan.FromTicks((long)Int128.Max(1, NanosPer(formatted[^1]) / 100)),
                $"{timeout} formatted as {formatted} is rounded up by more than one unit.");
            if (formatted[^1] != 'n')
            {
                var finer = FinerUnit(formatted[^1]);
                var nanos = (Int128)ticks * 100;
                var amountInFiner = (nanos + NanosPer(finer) - 1) / NanosPer(finer);
                Assert.True(amountInFiner > 99_999_999, $"{timeout} formatted as {formatted} would fit in unit '{finer}'.");
            }
        }
    }

    [Fact]
    public void Format_TimeoutLongerThanTheHeaderCanCarry_CappedAtMaximum()
    {
        var longest = TimeSpan.FromHours(99_999_999);

        Assert.Equal("99999999H", GrpcTimeout.Format(longest));
        Assert.Equal("99999999H", GrpcTimeout.Format(longest + TimeSpan.FromHours(1)));
    }

    private const string Units = "numSMH";

    private static char FinerUnit(char unit) => Units[Units.IndexOf(unit, StringComparison.Ordinal) - 1];

    private static Int128 NanosPer(char unit) => unit switch
    {
        'n' => 1,
        'u' => 1_000,
        'm' => 1_000_000,
        'S' => 1_000_000_000,
        'M' => 60_000_000_000,
        _ => 3_600_000_000_000,
    };
}
