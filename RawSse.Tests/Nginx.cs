using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RawSse.Tests;

/// <summary>
/// Debian's nginx running one of the repository's own samples (<c>deploy/nginx.conf</c>, <c>deploy/nginx-cluster.conf</c>),
/// its ports and paths rewritten into a private temp folder. Each rewrite must match the sample exactly once, so a
/// sample edited out from under a test fails it with a message rather than running something else.
/// </summary>
internal sealed class Nginx : IAsyncDisposable
{
    private const string Executable = "/usr/sbin/nginx";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly string _folder;
    private readonly ConcurrentQueue<string> _output;

    // deploy/nginx.conf's TLS lines, each rewritten to a free port and a throwaway certificate.
    private const string TlsListen = "listen 443 ssl http2;";
    private const string CertificatePath = "/etc/ssl/rawsse/fullchain.pem;";
    private const string KeyPath = "/etc/ssl/rawsse/privkey.pem;";

    private readonly int? _tlsPort;

    private Nginx(Process process, string folder, int port, int? tlsPort, ConcurrentQueue<string> output)
    {
        _process = process;
        _folder = folder;
        Port = port;
        _tlsPort = tlsPort;
        _output = output;
    }

    /// <summary>The plain HTTP/1.1 port (the sample's <c>listen 80;</c>).</summary>
    public int Port { get; }

    /// <summary>The HTTPS port that speaks HTTP/2 (deploy/nginx.conf's <c>listen 443 ssl http2;</c>).</summary>
    public int TlsPort => _tlsPort ?? throw new InvalidOperationException("this nginx sample has no TLS listener");

    private string ErrorLogPath => Path.Combine(_folder, "error.log");

    /// <summary>
    /// deploy/nginx.conf in front of one RawSse on <paramref name="upstreamPort"/>: HTTP/1.1 on <see cref="Port"/> and
    /// HTTP/2 over TLS, with a self-signed certificate for 127.0.0.1, on <see cref="TlsPort"/>.
    /// </summary>
    public static Task<Nginx> StartAsync(int upstreamPort, string? proxyReadTimeout = null)
    {
        List<(string From, string To)> rewrites = [("server 127.0.0.1:8080;", $"server 127.0.0.1:{upstreamPort};")];
        if (proxyReadTimeout is not null)
        {
            rewrites.Add(("proxy_read_timeout 1h;", $"proxy_read_timeout {proxyReadTimeout};"));
        }

        int tlsPort = Loopback.FreeTcpPort();
        return StartAsync(RepoPaths.NginxConf, "listen 80;", tlsPort, folder =>
        {
            var (certificate, key) = SelfSignedCertificate.WritePem(folder);
            return
            [
                .. rewrites,
                (TlsListen, $"listen 127.0.0.1:{tlsPort} ssl http2;"),
                (CertificatePath, certificate + ";"),
                (KeyPath, key + ";"),
            ];
        });
    }

    /// <summary>
    /// The sample at <paramref name="configFile"/>, its <paramref name="listen"/> line on a free loopback port and each
    /// of <paramref name="rewrites"/> applied.
    /// </summary>
    public static Task<Nginx> StartAsync(string configFile, string listen, params (string From, string To)[] rewrites) =>
        StartAsync(configFile, listen, tlsPort: null, _ => rewrites);

    /// <param name="rewritesIn">The rewrites, given the private folder (files the config names can be written there).</param>
    private static async Task<Nginx> StartAsync(string configFile, string listen, int? tlsPort, Func<string, (string From, string To)[]> rewritesIn)
    {
        if (!File.Exists(Executable))
        {
            Assert.Fail($"nginx tests need {Executable}: install nginx (apt-get install -y nginx)");
        }

        string folder = Directory.CreateTempSubdirectory("rawsse-nginx-").FullName;
        // nginx's workers run as an unprivileged user when the master is root: let them reach the temp paths.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        int port = Loopback.FreeTcpPort();
        string sample = Path.GetRelativePath(RepoPaths.Root, configFile);
        string config = await File.ReadAllTextAsync(configFile);
        try
        {
            foreach (var (from, to) in rewritesIn(folder).Append((listen, $"listen 127.0.0.1:{port};")))
            {
                config = Rewrite(config, sample, from, to);
            }
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }

        // The packaged temp paths (/var/lib/nginx/...) may not exist or be writable: keep everything in the folder.
        config = Rewrite(config, sample, "http {", "http {\n" + string.Concat(
            new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }.Select(p => $"    {p}_temp_path {folder}/{p}_temp;\n")));
        config = $"daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log info;\n\n" + config;
        string configPath = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(configPath, config);

        var output = new ConcurrentQueue<string>();
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-p", folder + "/", "-c", configPath, "-e", Path.Combine(folder, "error.log") })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var nginx = new Nginx(process, folder, port, tlsPort, output);
        try
        {
            await nginx.WaitUntilListeningAsync();
            return nginx;
        }
        catch
        {
            await nginx.DisposeAsync();
            throw;
        }
    }

    public string ErrorLog()
    {
        try
        {
            return File.Exists(ErrorLogPath) ? File.ReadAllText(ErrorLogPath) : "(no error.log)";
        }
        catch (IOException ex)
        {
            return $"(error.log unreadable: {ex.Message})";
        }
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"nginx exited with {_process.ExitCode} before listening on {Port}; output: {string.Join(" | ", _output)}; error.log: {ErrorLog()}");
            }

            using var probe = new TcpClient(AddressFamily.InterNetwork);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(1));
                return;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                if (deadline.Elapsed > StartTimeout)
                {
                    Assert.Fail($"nginx did not accept connections on {Port} within {StartTimeout.TotalSeconds:F0} s; output: {string.Join(" | ", _output)}; error.log: {ErrorLog()}");
                }

                await Task.Delay(20);
            }
        }
    }

    private static string Rewrite(string config, string sample, string from, string to)
    {
        int count = (config.Length - config.Replace(from, "", StringComparison.Ordinal).Length) / from.Length;
        Assert.That(count, Is.EqualTo(1), $"{sample} should contain '{from}' exactly once to be rewritten for the test");
        return config.Replace(from, to, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGKILL to the master and its workers: a killed master alone would leave workers listening.
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in between.
        }
        catch (OperationCanceledException)
        {
            // Still not reaped after SIGKILL; nothing more a test can do.
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
