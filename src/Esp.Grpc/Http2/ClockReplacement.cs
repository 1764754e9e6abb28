namespace Esp.Grpc.Http2;

/// <summary>
/// Which slot of a small cache a new entry takes ("clock", second chance): entries used since the
/// hand last passed them are spared once. A value that changes on every call (a request id, a
/// trace header) then keeps taking the same slot instead of pushing out, one by one, the values
/// every call repeats (its token, its path).
/// </summary>
internal static class ClockReplacement
{
    /// <summary>The slot to replace; the hand moves past it.</summary>
    public static int Next(bool[] usedSinceLastPass, ref int hand)
    {
        while (usedSinceLastPass[hand])
        {
            usedSinceLastPass[hand] = false;
            hand = (hand + 1) % usedSinceLastPass.Length;
        }
        var slot = hand;
        hand = (hand + 1) % usedSinceLastPass.Length;
        return slot;
    }
}
