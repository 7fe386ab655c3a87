using System.Globalization;

namespace LoadGen;

/// <summary>
/// The whole machine's CPU time from /proc/stat: busy (user, nice, system, irq, softirq) and steal (taken by
/// the hypervisor). Busy time that is neither the server's nor the load generator's is someone else's work
/// on the same cores, and it is in the measurement.
/// </summary>
internal readonly record struct MachineCpu(double BusySeconds, double StealSeconds)
{
    private const double ClockTicksPerSecond = 100.0;

    public static MachineCpu Read()
    {
        var first = File.ReadLines("/proc/stat").First(); // "cpu  user nice system idle iowait irq softirq steal ..."
        var f = first.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double Field(int i) => f.Length > i ? long.Parse(f[i], CultureInfo.InvariantCulture) / ClockTicksPerSecond : 0;
        return new MachineCpu(Field(1) + Field(2) + Field(3) + Field(6) + Field(7), Field(8));
    }
}
