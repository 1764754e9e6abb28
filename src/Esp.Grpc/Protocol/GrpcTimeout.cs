using System.Globalization;

namespace Esp.Grpc.Protocol;

/// <summary>
/// <c>grpc-timeout</c>: 1 to 8 ASCII digits and a unit, H M S m u n (hours ... nanoseconds).
/// </summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    /// <summary>Timeouts longer than this are treated as "no deadline" (timers cannot run that long).</summary>
    public static readonly TimeSpan MaxTimerDuration = TimeSpan.FromDays(30);

    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9)
            return false;
        var digits = value[..^1];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
                return false;
        }
        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long ticks;
        switch (value[^1])
        {
            case 'H': ticks = amount * TimeSpan.TicksPerHour; break;
            case 'M': ticks = amount * TimeSpan.TicksPerMinute; break;
            case 'S': ticks = amount * TimeSpan.TicksPerSecond; break;
            case 'm': ticks = amount * TimeSpan.TicksPerMillisecond; break;
            case 'u': ticks = amount * TimeSpan.TicksPerMicrosecond; break;
            // 100 ns per tick: round up so a deadline is never earlier than asked.
            case 'n': ticks = (amount + 99) / 100; break;
            default: return false;
        }
        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>The finest unit that fits in 8 digits, rounded up. Negative or zero gives "1n".</summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = timeout.Ticks;
        if (ticks <= 0)
            return "1n";
        if (ticks <= MaxValue / 100)
            return Fmt(ticks * 100, 'n');
        foreach (var (perUnit, unit) in Units)
        {
            // Rounded up without computing ticks + perUnit - 1, which overflows near TimeSpan.MaxValue.
            var amount = (ticks / perUnit) + (ticks % perUnit == 0 ? 0 : 1);
            if (amount <= MaxValue)
                return Fmt(amount, unit);
        }
        return Fmt(MaxValue, 'H');
    }

    private static readonly (long PerUnit, char Unit)[] Units =
    [
        (TimeSpan.TicksPerMicrosecond, 'u'),
        (TimeSpan.TicksPerMillisecond, 'm'),
        (TimeSpan.TicksPerSecond, 'S'),
        (TimeSpan.TicksPerMinute, 'M'),
        (TimeSpan.TicksPerHour, 'H'),
    ];

    private static string Fmt(long amount, char unit) =>
        string.Create(CultureInfo.InvariantCulture, $"{amount}{unit}");
}
