namespace RawSse.Tests;

/// <summary>The managed heap after everything collectable has been collected, finalizers included.</summary>
internal static class Heap
{
    public static long SettledBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
