using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// Runs the README's curl lines through bash as written, with only <see cref="ReadmeExamples.ExampleAuthority"/>
/// turned into the test server's port, and reports each one that does not do what the README says: a stream
/// (<c>-N</c>) must open and carry an event, a request must answer 200, and an id a publish answers must arrive on
/// one of the streams. Returns the failures; none means every example works.
/// </summary>
internal static partial class CurlExampleRunner
{
    public static async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<CurlExample> examples, int port, TimeSpan timeout)
    {
        var failures = new List<string>();
        var curlHome = Directory.CreateTempSubdirectory("rawsse-curlrc-");
        var streams = new List<(CurlExample Example, ChildProcess Process)>();
        try
        {
            // curl reads $CURL_HOME/.curlrc before its arguments: quiet progress, and the status after the body, so the
            // lines themselves run unchanged.
            File.WriteAllText(Path.Combine(curlHome.FullName, ".curlrc"), "silent\nshow-error\nwrite-out = \"\\n%{http_code}\\n\"\n");
            var environment = new Dictionary<string, string> { ["CURL_HOME"] = curlHome.FullName };
            string Localize(CurlExample e) => e.Command.Replace(ReadmeExamples.ExampleAuthority, $"localhost:{port}", StringComparison.Ordinal);

            foreach (var example in examples.Where(e => e.IsStream))
            {
                streams.Add((example, ChildProcess.Start("bash", ["-c", Localize(example)], environment)));
            }

            // A stream's first frame (retry:) is sent once the stream has joined the hub, so nothing published after it is missed.
            foreach (var (example, process) in streams)
            {
                if (!await Polling.UntilAsync(() => process.Output.StartsWith("retry: ", StringComparison.Ordinal) && process.Output.Contains("\n\n", StringComparison.Ordinal), timeout))
                {
                    failures.Add($"{example}: no stream opened; it printed {Describe.Escape(process.Output)} {process.Error}");
                }
            }

            var ids = new List<(CurlExample Example, string Id)>();
            foreach (var example in examples.Where(e => !e.IsStream))
            {
                using var request = ChildProcess.Start("bash", ["-c", Localize(example)], environment);
                if (!await request.WaitForExitAsync(timeout))
                {
                    failures.Add($"{example}: no answer within {timeout.TotalSeconds} s");
                    continue;
                }

                string[] lines = request.Output.TrimEnd('\n').Split('\n');
                if (request.ExitCode != 0 || lines[^1] != "200")
                {
                    failures.Add($"{example}: exit code {request.ExitCode}, status {lines[^1]}, answer {Describe.Escape(request.Output)} {request.Error}");
                }
                else if (lines.Length == 2 && EventId().IsMatch(lines[0]))
                {
                    ids.Add((example, lines[0]));
                }
            }

            foreach (var (example, process) in streams)
            {
                if (!await Polling.UntilAsync(() => process.Output.Contains("\nid: ", StringComparison.Ordinal), timeout))
                {
                    failures.Add($"{example}: no event arrived; it printed {Describe.Escape(process.Output)}");
                }
            }

            foreach (var (example, id) in ids)
            {
                if (!await Polling.UntilAsync(() => streams.Any(s => s.Process.Output.Contains($"id: {id}\n", StringComparison.Ordinal)), timeout))
                {
                    failures.Add($"{example}: published {id}, which no README stream received");
                }
            }
        }
        finally
        {
            streams.ForEach(s => s.Process.Dispose());
            curlHome.Delete(recursive: true);
        }

        return failures;
    }

    // The hub's ids: <epoch>-<sequence> (see "Resuming").
    [GeneratedRegex(@"^[0-9a-z]+-[0-9]+$")]
    private static partial Regex EventId();
}
