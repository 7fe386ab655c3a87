using System.Diagnostics;

namespace LoadGen;

/// <summary>
/// A shard in a child process (this same program, in <c>shard</c> mode), so no process holds more open files
/// than its limit. Commands go one line at a time on its standard input and each gets one line back:
/// <c>ADD n first</c> → <c>ADDED json</c>, <c>STEP first capacity</c> → <c>OK</c>,
/// <c>END last graceMs</c> → <c>RESULT json</c>, <c>QUIT</c>. The child exits when its input closes.
/// </summary>
internal sealed class ChildShard : IAsyncDisposable
{
    private readonly Process _process;

    public ChildShard(GroupOptions options)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };

        // Run as we were run: the apphost directly, or "dotnet LoadGen.dll".
        string self = Environment.ProcessPath ?? "dotnet";
        start.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ChildShard).Assembly.Location);
        }

        start.ArgumentList.Add("shard");
        foreach (var arg in options.ToArgs())
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start a shard process");
    }

    public int Count { get; private set; }

    public async Task<ConnectSummary> AddAsync(int count, int firstIndex)
    {
        Count += count;
        return Json.Read<ConnectSummary>(await CommandAsync($"ADD {count} {firstIndex}", "ADDED ", TimeSpan.FromMinutes(5)).ConfigureAwait(false));
    }

    public Task BeginStepAsync(long firstSequence, int capacity) => CommandAsync($"STEP {firstSequence} {capacity}", "OK", TimeSpan.FromSeconds(30));

    public async Task<StepResult> EndStepAsync(long lastSequence, int graceMs) =>
        Json.Read<StepResult>(await CommandAsync($"END {lastSequence} {graceMs}", "RESULT ", TimeSpan.FromMilliseconds(graceMs) + TimeSpan.FromSeconds(60)).ConfigureAwait(false));

    private async Task<string> CommandAsync(string command, string answer, TimeSpan timeout)
    {
        await _process.StandardInput.WriteLineAsync(command).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var line = await _process.StandardOutput.ReadLineAsync(cts.Token).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"shard process {_process.Id} ended (exit code {(_process.HasExited ? _process.ExitCode : -1)})");
            if (line.StartsWith(answer, StringComparison.Ordinal))
            {
                return line[answer.Length..];
            }

            Console.Error.WriteLine($"shard {_process.Id}: {line}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync("QUIT").ConfigureAwait(false);
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
