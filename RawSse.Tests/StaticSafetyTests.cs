using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// Static files under the inputs that used to go wrong: dot-segments that name the root, a file rewritten within the
/// same second at the same size, a FIFO in the root, a symlink inside the root, and a large answer to a reader that
/// is slow but keeps reading.
/// </summary>
[TestFixture]
public sealed class StaticSafetyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [TestCase("/.")]
    [TestCase("/%2e")]
    [TestCase("/x/..")]
    [TestCase("/x/%2e%2e")]
    public async Task Get_DotSegmentsNamingTheRoot_RedirectToSlash(string target)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(301), Describe.Response(response));
            Assert.That(response.Headers.GetValueOrDefault("Location"), Is.EqualTo("/"), $"not '//', which a browser reads as another host: {Describe.Response(response)}");
        });
    }

    [Test]
    [Category("Timing")]
    public async Task Get_FileRewrittenSameSizeWithinTheSameSecond_NewContentServed()
    {
        // Arrange: the same length, and an mtime in the same second as the first version's.
        await using var server = TestServer.StartWithoutHeartbeats();
        string path = Path.Combine(server.Root, "same.txt");
        var second = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);
        File.WriteAllText(path, "AAAA");
        File.SetLastWriteTimeUtc(path, second.AddMilliseconds(100));
        using var client = await server.ConnectAsync();
        string first = await GetBodyAsync(client, "/same.txt");

        // Act
        File.WriteAllText(path, "BBBB");
        File.SetLastWriteTimeUtc(path, second.AddMilliseconds(200));
        string? latest = null;
        bool updated = await Polling.UntilAsync(async () => (latest = await GetBodyAsync(client, "/same.txt")) == "BBBB", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo("AAAA"));
            Assert.That(updated, Is.True, $"still serving '{latest}' after the revalidation time");
        });
    }

    [Test]
    [Category("Timing")]
    public async Task Get_FileReplacedByRenameWithIdenticalTimes_NewContentServed()
    {
        // Arrange: a deploy that writes a new file and renames it over the old one, with the same size and mtime.
        await using var server = TestServer.StartWithoutHeartbeats();
        string path = Path.Combine(server.Root, "deployed.txt");
        var mtime = new DateTime(2026, 12, 1, 10, 0, 0, 123, DateTimeKind.Utc);
        File.WriteAllText(path, "old!");
        File.SetLastWriteTimeUtc(path, mtime);
        using var client = await server.ConnectAsync();
        string first = await GetBodyAsync(client, "/deployed.txt");
        string staging = Path.Combine(server.Root, "staging.tmp");
        File.WriteAllText(staging, "new!");
        File.SetLastWriteTimeUtc(staging, mtime);

        // Act
        File.Move(staging, path, overwrite: true);
        string? latest = null;
        bool updated = await Polling.UntilAsync(async () => (latest = await GetBodyAsync(client, "/deployed.txt")) == "new!", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo("old!"));
            Assert.That(updated, Is.True, $"still serving '{latest}': the inode changed");
        });
    }

    [Test]
    public async Task Get_FifoInTheRoot_Returns404AtOnceAndTheServerStillServes()
    {
        // Arrange: opening a FIFO for reading blocks until a writer comes, and nobody will.
        await using var server = TestServer.StartWithoutHeartbeats();
        string fifo = Path.Combine(server.Root, "pipe");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            await mkfifo.WaitForExitAsync().WaitAsync(Timeout);
            Assert.That(mkfifo.ExitCode, Is.Zero, "mkfifo");
        }

        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("GET /pipe HTTP/1.1\r\nHost: test\r\n\r\nGET / HTTP/1.1\r\nHost: test\r\n\r\n");
        var pipe = await client.ReadResponseAsync(timeout: Timeout);
        var index = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(pipe.Status, Is.EqualTo(404), Describe.Response(pipe));
            Assert.That(index.Status, Is.EqualTo(200), Describe.Response(index));
        });
    }

    [Test]
    public async Task Get_SymlinkToAFileInsideTheRoot_Served()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        Directory.CreateDirectory(Path.Combine(server.Root, "real"));
        File.WriteAllText(Path.Combine(server.Root, "real", "page.txt"), "inside");
        File.CreateSymbolicLink(Path.Combine(server.Root, "alias.txt"), Path.Combine(server.Root, "real", "page.txt"));
        using var client = await server.ConnectAsync();

        // Act
        string body = await GetBodyAsync(client, "/alias.txt");

        // Assert
        Assert.That(body, Is.EqualTo("inside"));
    }

    [Test]
    [Category("Timing")]
    public async Task Get_LargeFileToSlowButSteadyReader_NotCutByTheWriteTimeout()
    {
        // Arrange: a 400 KB answer, a 4 KB window, a reader taking 8 KB every 40 ms (about 2 s in all), and a write
        // timeout of 400 ms: the answer makes progress all the time, so it must not be cut.
        await using var server = TestServer.StartWithoutHeartbeats(o => o.WriteTimeout = TimeSpan.FromMilliseconds(400));
        var content = new byte[400 * 1024];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(Path.Combine(server.Root, "large.bin"), content);
        using var client = await RawClient.ConnectAsync(server.EndPoint, receiveBufferSize: 4096);
        await client.SendAsync("GET /large.bin HTTP/1.1\r\nHost: test\r\n\r\n");

        // Act
        var received = new MemoryStream();
        var buffer = new byte[8192];
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int bodyStart = -1;
        while (bodyStart < 0 || received.Length - bodyStart < content.Length)
        {
            int n = await client.ReceiveAsync(buffer, deadline.Token);
            if (n == 0)
            {
                break; // cut: the assertions say what arrived
            }

            received.Write(buffer, 0, n);
            if (bodyStart < 0 && received.GetBuffer().AsSpan(0, (int)received.Length).IndexOf("\r\n\r\n"u8) is int end and >= 0)
            {
                bodyStart = end + 4;
            }

            await Task.Delay(40, deadline.Token); // a slow reader, on purpose
        }

        // Assert
        var bytes = received.ToArray();
        bodyStart = Math.Max(bodyStart, 0);
        Assert.Multiple(() =>
        {
            Assert.That(Encoding.ASCII.GetString(bytes, 0, bodyStart), Does.StartWith("HTTP/1.1 200 OK"));
            Assert.That(bytes.Length - bodyStart, Is.EqualTo(content.Length), $"the whole file arrived in {clock.ElapsedMilliseconds} ms");
            Assert.That(bytes.AsSpan(bodyStart).SequenceEqual(content), Is.True, "byte for byte");
        });
    }

    private static async Task<string> GetBodyAsync(RawClient client, string target)
    {
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);
        return response.BodyText;
    }
}
