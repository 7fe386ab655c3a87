using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadGen;

/// <summary>
/// <c>startup</c>: runs the server command (everything after <c>--</c>) several times; each time measures from
/// exec to the first byte of a response to <c>GET /</c>, then, after a settle time, the idle resident memory.
/// The server is stopped with SIGTERM (SIGKILL after 10 s).
/// </summary>
internal static class StartupMode
{
    public static async Task<int> RunAsync(Args args)
    {
        string label = args.Get("--label", "server");
        var url = new Uri(args.Get("--url", "http://127.0.0.1:8080/"));
        int runs = args.GetInt("--runs", 3);
        int settleMs = args.GetInt("--settle-ms", 2000);
        int timeoutMs = args.GetInt("--timeout-ms", 30_000);
        args.RejectUnknown();
        if (args.Rest.Count == 0)
        {
            throw new ArgumentException("startup needs the server command after --");
        }

        var report = new StartupReport { Label = label, Command = string.Join(' ', args.Rest), Ok = true };
        var endpoint = new IPEndPoint(IPAddress.Parse(url.Host), url.Port);
        byte[] request = Encoding.ASCII.GetBytes($"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nConnection: close\r\n\r\n");
        for (int run = 0; run < runs; run++)
        {
            var start = new ProcessStartInfo(args.Rest[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args.Rest.Skip(1))
            {
                start.ArgumentList.Add(arg);
            }

            long t0 = Stopwatch.GetTimestamp();
            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{label}] {e.Data}"); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            double? firstByteMs = null;
            while (Stopwatch.GetElapsedTime(t0).TotalMilliseconds < timeoutMs && !process.HasExited)
            {
                if (TryFirstByte(endpoint, request))
                {
                    firstByteMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    break;
                }

                Thread.Sleep(1);
            }

            var point = new StartupRun { FirstByteMs = Math.Round(firstByteMs ?? -1, 1) };
            if (firstByteMs is null)
            {
                report.Ok = false;
            }
            else
            {
                await Task.Delay(settleMs).ConfigureAwait(false);
                var stats = ProcStats.TryRead(process.Id);
                point.IdleRssKb = stats?.RssKb ?? 0;
                point.CpuSeconds = stats?.CpuSeconds ?? 0;
            }

            report.Runs.Add(point);
            point.ExitCode = await StopAsync(process).ConfigureAwait(false);
            Console.WriteLine($"[{label}] startup run {run + 1}: first byte after {point.FirstByteMs:F1} ms, idle RSS {point.IdleRssKb / 1024.0:F1} MB, " +
                $"CPU {point.CpuSeconds:F2} s; exit code {point.ExitCode} after SIGTERM");
        }

        var ok = report.Runs.Where(r => r.FirstByteMs >= 0).ToList();
        if (ok.Count > 0)
        {
            report.MedianFirstByteMs = Median(ok.Select(r => r.FirstByteMs));
            report.MinFirstByteMs = ok.Min(r => r.FirstByteMs);
            report.MedianIdleRssMb = Math.Round(Median(ok.Select(r => (double)r.IdleRssKb)) / 1024.0, 1);
        }

        Console.WriteLine($"[{label}] startup: median {report.MedianFirstByteMs:F1} ms to first byte (min {report.MinFirstByteMs:F1}), median idle RSS {report.MedianIdleRssMb:F1} MB");
        Console.WriteLine(Json.Write(report));
        return 0;
    }

    private static bool TryFirstByte(IPEndPoint endpoint, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
        try
        {
            socket.Connect(endpoint);
            socket.Send(request);
            Span<byte> one = stackalloc byte[1];
            return socket.Receive(one) == 1;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, then SIGKILL after 10 s; returns the exit code (128 + signal when a signal ended it).</summary>
    private static async Task<int> StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return process.ExitCode;
        }

        Native.Kill(process.Id, Native.SigTerm);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return process.ExitCode;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
