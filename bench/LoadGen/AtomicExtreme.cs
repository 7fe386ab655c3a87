namespace LoadGen;

/// <summary>Lock-free running maximum and minimum of a shared <see cref="long"/> (receive loops on several threads record into one).</summary>
internal static class AtomicExtreme
{
    public static void Max(ref long slot, long value) => Keep(ref slot, value, higher: true);

    public static void Min(ref long slot, long value) => Keep(ref slot, value, higher: false);

    private static void Keep(ref long slot, long value, bool higher)
    {
        long seen = Volatile.Read(ref slot);
        while (higher ? value > seen : value < seen)
        {
            long previous = Interlocked.CompareExchange(ref slot, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
