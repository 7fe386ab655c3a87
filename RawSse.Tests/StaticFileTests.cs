using System.Globalization;
using System.Text;
using RawSse.Static;

namespace RawSse.Tests;

/// <summary>
/// Static files over raw sockets: exact headers and bytes, HEAD, conditional requests (RFC 9110 §13),
/// content types, redirects, large files, and the path-safety rules (traversal, symlinks, dotfiles).
/// Request targets are sent exactly as written here; nothing normalises them on the client side.
/// </summary>
[TestFixture]
public sealed class StaticFileTests
{
    private const string IndexHtml = TestServer.IndexHtml;

    // ---------------------------------------------------------------- GET / HEAD

    [Test]
    public async Task Get_Root_ServesIndexHtmlWithExactHeadersAndBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();
        var expectedBody = await File.ReadAllBytesAsync(Path.Combine(server.Root, "index.html"));
        var mtime = TruncateToSeconds(File.GetLastWriteTimeUtc(Path.Combine(server.Root, "index.html")));

        // Act
        await client.SendAsync(Request("GET", "/"));
        var response = await client.ReadResponseAsync();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusLine, Is.EqualTo("HTTP/1.1 200 OK"), response.RawHead);
            Assert.That(Header(response, "Content-Type"), Is.EqualTo("text/html; charset=utf-8"), response.RawHead);
            Assert.That(Header(response, "Content-Length"), Is.EqualTo(expectedBody.Length.ToString(CultureInfo.InvariantCulture)), response.RawHead);
            Assert.That(response.Body, Is.EqualTo(expectedBody), $"body arrived as '{Describe.Escape(response.BodyText)}'");
            Assert.That(response.BodyText, Is.EqualTo(IndexHtml));
            Assert.That(TryParseHttpDate(Header(response, "Last-Modified"), out var lastModified), Is.True,
                $"Last-Modified is not an IMF-fixdate: {response.RawHead}");
            Assert.That(lastModified, Is.EqualTo(mtime), "Last-Modified should be the file's mtime in whole seconds");
            Assert.That(Header(response, "ETag"), Does.Match("^\"[^\"]+\"$"), $"ETag should be a quoted strong tag: {response.RawHead}");
            Assert.That(Header(response, "ETag"), Does.Not.StartWith("W/"), response.RawHead);
            Assert.That(TryParseHttpDate(Header(response, "Date"), out var date), Is.True, $"Date is not an IMF-fixdate: {response.RawHead}");
            Assert.That(date, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(5)), response.RawHead);
        }
    }

    [Test]
    public async Task Head_Root_SameHeadersAsGetAndNoBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();
        await client.SendAsync(Request("GET", "/"));
        var get = await client.ReadResponseAsync();

        // Act
        await client.SendAsync(Request("HEAD", "/"));
        var head = await client.ReadResponseAsync(expectBody: false);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.Status, Is.EqualTo(200), head.RawHead);
            Assert.That(Header(head, "Content-Length"), Is.EqualTo(Header(get, "Content-Length")), head.RawHead);
            Assert.That(Header(head, "Content-Type"), Is.EqualTo(Header(get, "Content-Type")), head.RawHead);
            Assert.That(Header(head, "ETag"), Is.EqualTo(Header(get, "ETag")), head.RawHead);
            Assert.That(Header(head, "Last-Modified"), Is.EqualTo(Header(get, "Last-Modified")), head.RawHead);
        }

        await AssertNoStrayBodyAsync(client, "HEAD /");
    }

    [Test]
    public async Task Head_PipelinedBeforeGet_NextResponseFollowsImmediately()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(Request("HEAD", "/") + Request("GET", "/"));
        var head = await client.ReadResponseAsync(expectBody: false);
        var nextHead = await client.ReadUntilAsync("\r\n\r\n");

        // Assert
        Assert.That(head.Status, Is.EqualTo(200), head.RawHead);
        Assert.That(nextHead, Does.StartWith("HTTP/1.1 200 OK\r\n"),
            "the GET's status line should follow the HEAD's blank line directly; arrived: " + Describe.Escape(nextHead));
        var body = await client.ReadUntilAsync("<p>hello</p>\n");
        Assert.That(body, Is.EqualTo(IndexHtml));
    }

    [Test]
    public async Task Head_MissingFile_Returns404WithoutBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(Request("HEAD", "/missing.html"));
        var response = await client.ReadResponseAsync(expectBody: false);

        // Assert
        Assert.That(response.Status, Is.EqualTo(404), response.RawHead);
        await AssertNoStrayBodyAsync(client, "HEAD /missing.html");
    }

    // ---------------------------------------------------------------- conditional requests

    [Test]
    public async Task Get_IfNoneMatchSameETag_Returns304WithETagAndNoBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();
        var first = await GetAsync(client, "/");
        var etag = Header(first, "ETag");

        // Act
        await client.SendAsync(Request("GET", "/", $"If-None-Match: {etag}\r\n"));
        var response = await client.ReadResponseAsync(expectBody: false);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusLine, Is.EqualTo("HTTP/1.1 304 Not Modified"), response.RawHead);
            Assert.That(Header(response, "ETag"), Is.EqualTo(etag), response.RawHead);
            Assert.That(Header(response, "Last-Modified"), Is.EqualTo(Header(first, "Last-Modified")), response.RawHead);
        }

        await AssertNoStrayBodyAsync(client, "304");
    }

    // One conditional GET of "/": {etag}, {lastModified} and {dayBefore} stand for the ETag, the Last-Modified and
    // a day before it, as a first GET on the same connection answered them. Each case keeps its name as a test of its own.
    [TestCase("If-None-Match: *", 304, TestName = "Get_IfNoneMatchStar_Returns304")]
    [TestCase("If-None-Match: \"not-the-tag\"", 200, TestName = "Get_IfNoneMatchOtherETag_Returns200WithBody")]
    [TestCase("If-None-Match: W/{etag}", 304, TestName = "Get_IfNoneMatchWeakFormOfSameTag_Returns304")] // RFC 9110 §13.1.2: the weak comparison
    [TestCase("If-None-Match: \"other\", {etag} , \"third\"", 304, TestName = "Get_IfNoneMatchListContainingETag_Returns304")]
    [TestCase("If-Modified-Since: {lastModified}", 304, TestName = "Get_IfModifiedSinceEqualToLastModified_Returns304")]
    [TestCase("If-Modified-Since: {dayBefore}", 200, TestName = "Get_IfModifiedSinceOlderThanLastModified_Returns200")]
    [TestCase("If-None-Match: \"stale\"\r\nIf-Modified-Since: {lastModified}", 200, TestName = "Get_IfNoneMatchMismatchWithIfModifiedSinceMatch_Returns200")] // RFC 9110 §13.2.2: If-Modified-Since is ignored
    public async Task Get_ConditionalRequest_ExactStatus(string fields, int status)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();
        if (fields.Contains('{', StringComparison.Ordinal))
        {
            var first = await GetAsync(client, "/");
            Assert.That(TryParseHttpDate(Header(first, "Last-Modified"), out var lastModified), Is.True, first.RawHead);
            fields = fields
                .Replace("{etag}", Header(first, "ETag"), StringComparison.Ordinal)
                .Replace("{lastModified}", Header(first, "Last-Modified"), StringComparison.Ordinal)
                .Replace("{dayBefore}", lastModified.AddDays(-1).ToString("r", CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        // Act
        await client.SendAsync(Request("GET", "/", fields + "\r\n"));
        var response = await client.ReadResponseAsync(expectBody: status != 304);

        // Assert
        Assert.That(response.Status, Is.EqualTo(status), $"sent {Describe.Escape(fields)}; arrived: {response.RawHead}");
        if (status == 304)
        {
            await AssertNoStrayBodyAsync(client, $"304 for {Describe.Escape(fields)}");
        }
        else
        {
            Assert.That(response.BodyText, Is.EqualTo(IndexHtml));
        }
    }

    // ---------------------------------------------------------------- content types

    [TestCase("page.html", "text/html; charset=utf-8")]
    [TestCase("app.js", "text/javascript; charset=utf-8")]
    [TestCase("style.css", "text/css; charset=utf-8")]
    [TestCase("data.json", "application/json")]
    [TestCase("logo.svg", "image/svg+xml")]
    [TestCase("image.png", "image/png")]
    [TestCase("IMAGE.PNG", "image/png")]
    [TestCase("favicon.ico", "image/x-icon")]
    [TestCase("notes.txt", "text/plain; charset=utf-8")]
    [TestCase("font.woff2", "font/woff2")]
    [TestCase("blob.unknownext", "application/octet-stream")]
    [TestCase("README", "application/octet-stream")]
    public async Task Get_FileByExtension_SendsContentType(string fileName, string expectedType)
    {
        // Arrange
        await using var server = TestServer.Start();
        byte[] content = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'x'];
        await File.WriteAllBytesAsync(Path.Combine(server.Root, fileName), content);
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/" + fileName);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
            Assert.That(Header(response, "Content-Type"), Is.EqualTo(expectedType), response.RawHead);
            Assert.That(response.Body, Is.EqualTo(content));
        }
    }

    // ---------------------------------------------------------------- errors and redirects

    [Test]
    public async Task Get_UnknownPath_Returns404()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/no/such/file.html");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusLine, Is.EqualTo("HTTP/1.1 404 Not Found"), response.RawHead);
            Assert.That(response.BodyText, Is.EqualTo("404 Not Found\n"));
        }
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    public async Task Request_NonGetMethodOnFile_Returns405WithAllowAndKeepsConnection(string method)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act: a small body, which must be drained and never read as the next request.
        await client.SendAsync(Request(method, "/index.html", "Content-Length: 5\r\n") + "hello");
        var response = await client.ReadResponseAsync();
        var next = await GetAsync(client, "/");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusLine, Is.EqualTo("HTTP/1.1 405 Method Not Allowed"), response.RawHead);
            Assert.That(Header(response, "Allow"), Is.EqualTo("GET, HEAD"), response.RawHead);
            Assert.That(next.Status, Is.EqualTo(200), next.RawHead);
            Assert.That(next.BodyText, Is.EqualTo(IndexHtml));
        }
    }

    [Test]
    public async Task Get_DirectoryWithoutTrailingSlash_Redirects301WithSlash()
    {
        // Arrange
        await using var server = TestServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(server.Root, "sub", "index.html"), "sub page\n");
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/sub");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusLine, Is.EqualTo("HTTP/1.1 301 Moved Permanently"), response.RawHead);
            Assert.That(Header(response, "Location"), Is.EqualTo("/sub/"), response.RawHead);
        }
    }

    [Test]
    public async Task Get_DirectoryWithTrailingSlash_ServesItsIndexHtml()
    {
        // Arrange
        await using var server = TestServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(server.Root, "sub", "index.html"), "sub page\n");
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/sub/");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
            Assert.That(Header(response, "Content-Type"), Is.EqualTo("text/html; charset=utf-8"), response.RawHead);
            Assert.That(response.BodyText, Is.EqualTo("sub page\n"));
        }
    }

    [Test]
    public async Task Get_DirectoryWithoutIndexHtml_Returns404()
    {
        // Arrange
        await using var server = TestServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "empty"));
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/empty/");

        // Assert
        Assert.That(response.Status, Is.EqualTo(404), response.RawHead);
    }

    [TestCase("//evil.example/..%2fsub")]
    [TestCase("//evil.example/../sub")]
    [TestCase("//sub")]
    public async Task Get_DirectoryRedirectFromDoubleSlashTarget_LocationStaysOnSameOrigin(string target)
    {
        // Arrange: "//host/..." in a Location is a network-path reference (RFC 3986 §4.2): the browser goes to "host".
        await using var server = TestServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(server.Root, "sub", "index.html"), "sub page\n");
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, target);

        // Assert
        Assert.That(response.Status, Is.EqualTo(301), response.RawHead);
        Assert.That(Header(response, "Location"), Does.StartWith("/").And.Not.StartWith("//"),
            $"redirect for '{target}' must be a same-origin path; arrived: {response.RawHead}");
    }

    // ---------------------------------------------------------------- large files

    // 100 KiB is kept in memory and sent from its array (past 16 KiB it skips the pipe); 2 MiB is past the 512 KiB
    // in-memory limit, so it is streamed in chunks. Pipelined behind a small request, then followed by one.
    [TestCase(100 * 1024 + 17)]
    [TestCase(2 * 1024 * 1024 + 17)]
    public async Task Get_LargeFile_ServedCompletelyAndByteIdenticalBetweenOtherAnswers(int length)
    {
        // Arrange
        await using var server = TestServer.Start();
        var content = new byte[length];
        new Random(20240601).NextBytes(content);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "big.bin"), content);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(Request("GET", "/missing") + Request("GET", "/big.bin"));
        var before = await client.ReadResponseAsync();
        var response = await client.ReadResponseAsync();
        var next = await GetAsync(client, "/");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
            Assert.That(Header(response, "Content-Length"), Is.EqualTo(content.Length.ToString(CultureInfo.InvariantCulture)), response.RawHead);
            Assert.That(response.Body.Length, Is.EqualTo(content.Length));
            Assert.That(response.Body.AsSpan().SequenceEqual(content), Is.True,
                $"body differs from the file first at byte {FirstDifference(response.Body, content)}");
            Assert.That(before.Status, Is.EqualTo(404), "the answer pipelined before the file comes first: " + before.RawHead);
            Assert.That(next.Status, Is.EqualTo(200), "the connection should carry on after a large file: " + next.RawHead);
            Assert.That(next.BodyText, Is.EqualTo(IndexHtml));
        }
    }

    [Test]
    public async Task Head_FileLargerThanCache_SendsLengthAndNoBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        var content = new byte[2 * 1024 * 1024];
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "big.bin"), content);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(Request("HEAD", "/big.bin"));
        var response = await client.ReadResponseAsync(expectBody: false);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
        Assert.That(Header(response, "Content-Length"), Is.EqualTo(content.Length.ToString(CultureInfo.InvariantCulture)), response.RawHead);
        await AssertNoStrayBodyAsync(client, "HEAD of a large file");
    }

    // ---------------------------------------------------------------- traversal

    [TestCase("/../secret.txt")]
    [TestCase("/..%2fsecret.txt")]
    [TestCase("/..%2Fsecret.txt")]
    [TestCase("/%2e%2e/secret.txt")]
    [TestCase("/%2E%2E%2Fsecret.txt")]
    [TestCase("/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt")]
    [TestCase("/a/../../secret.txt")]
    [TestCase("/./../secret.txt")]
    [TestCase("/sub/..%2f..%2fsecret.txt")]
    [TestCase("/..\\secret.txt")]
    [TestCase("/%5c..%5csecret.txt")]
    [TestCase("/..%5csecret.txt")]
    [TestCase("/%2e%2e%5csecret.txt")]
    [TestCase("/%252e%252e/secret.txt")]
    [TestCase("/%252e%252e%252fsecret.txt")]
    [TestCase("/index.html%00.txt")]
    [TestCase("/..%00/secret.txt")]
    [TestCase("/%c0%ae%c0%ae/secret.txt")]
    [TestCase("/%c0%ae%c0%ae%c0%afsecret.txt")]
    [TestCase("/%e0%80%ae%e0%80%ae/secret.txt")]
    [TestCase("http://test/../secret.txt")]
    [TestCase("http://test/%2e%2e/secret.txt")]
    [TestCase("/public/../../secret.txt")]
    public async Task Get_TraversalTarget_NeverServesFileOutsideRoot(string target)
    {
        // Arrange: the secret sits in the parent of the root, so "../secret.txt" names it exactly.
        using var sandbox = new Sandbox();
        await using var server = TestServer.Start(o => o.Root = sandbox.Root);
        using var client = await server.ConnectAsync();

        // Act
        var (response, raw) = await GetAndReadToCloseAsync(client, target);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.AnyOf(400, 404), $"target '{target}'; arrived: {response.RawHead}");
            Assert.That(raw, Does.Not.Contain(sandbox.Marker), $"target '{target}' leaked the secret");
            Assert.That(server.Logs.Errors, Is.Empty, "no request target should fault the server");
        }
    }

    [Test]
    public async Task Get_IndexInSandboxRoot_Returns200()
    {
        // Arrange: the control for the traversal cases — the sandbox root is really the one being served.
        using var sandbox = new Sandbox();
        await using var server = TestServer.Start(o => o.Root = sandbox.Root);
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/index.html");

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
        Assert.That(response.BodyText, Is.EqualTo(IndexHtml));
    }

    [TestCase("//etc/passwd")]
    [TestCase("/etc/passwd")]
    [TestCase("/%2fetc%2fpasswd")]
    [TestCase("/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd")]
    public async Task Get_AbsoluteSystemPath_Returns404(string target)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        var (response, raw) = await GetAndReadToCloseAsync(client, target);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Status, Is.EqualTo(404), $"target '{target}'; arrived: {response.RawHead}");
            Assert.That(raw, Does.Not.Contain("root:"), $"target '{target}' served /etc/passwd");
        }
    }

    // ---------------------------------------------------------------- symlinks

    // Each case keeps the name it had as a test of its own.
    private static IEnumerable<TestCaseData> SymlinksOutOfRoot()
    {
        yield return new TestCaseData("link.txt", "secret file", "/link.txt").SetName("Get_SymlinkToFileOutsideRoot_Returns404");
        yield return new TestCaseData("outside", "parent folder", "/outside/secret.txt").SetName("Get_SymlinkToDirectoryOutsideRoot_Returns404");

        // "<parent>/public-evil" starts with the root's path "<parent>/public"; a bare prefix check would pass it.
        yield return new TestCaseData("prefix.txt", "sibling folder's secret", "/prefix.txt").SetName("Get_SymlinkToSiblingFolderSharingRootPrefix_Returns404");
    }

    [TestCaseSource(nameof(SymlinksOutOfRoot))]
    public async Task Get_SymlinkOutOfRoot_Returns404(string linkName, string pointsTo, string target)
    {
        // Arrange
        using var sandbox = new Sandbox();
        string link = Path.Combine(sandbox.Root, linkName);
        switch (pointsTo)
        {
            case "secret file":
                File.CreateSymbolicLink(link, sandbox.SecretPath);
                break;
            case "parent folder":
                Directory.CreateSymbolicLink(link, sandbox.Parent);
                break;
            default:
                File.CreateSymbolicLink(link, sandbox.SiblingSecretPath);
                break;
        }

        await using var server = TestServer.Start(o => o.Root = sandbox.Root);
        using var client = await server.ConnectAsync();

        // Act
        var (response, raw) = await GetAndReadToCloseAsync(client, target);

        // Assert
        Assert.That(response.Status, Is.EqualTo(404), response.RawHead);
        Assert.That(raw, Does.Not.Contain(sandbox.Marker), $"the symlink to the {pointsTo} leaked the secret");
    }

    [Test]
    public async Task Get_SymlinkToFileInsideRoot_Returns200WithTargetContent()
    {
        // Arrange
        await using var server = TestServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, "real.txt"), "real content\n");
        File.CreateSymbolicLink(Path.Combine(server.Root, "alias.txt"), Path.Combine(server.Root, "real.txt"));
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/alias.txt");

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
        Assert.That(response.BodyText, Is.EqualTo("real content\n"));
    }

    [Test]
    public async Task Get_SymlinkToDotfileInsideRoot_Returns404()
    {
        // Arrange
        await using var server = TestServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, ".env"), "API_KEY=dotfile-secret\n");
        File.CreateSymbolicLink(Path.Combine(server.Root, "env.txt"), Path.Combine(server.Root, ".env"));
        using var client = await server.ConnectAsync();

        // Act
        var (response, raw) = await GetAndReadToCloseAsync(client, "/env.txt");

        // Assert
        Assert.That(response.Status, Is.EqualTo(404), response.RawHead);
        Assert.That(raw, Does.Not.Contain("dotfile-secret"));
    }

    // ---------------------------------------------------------------- dotfiles

    [TestCase("/.env")]
    [TestCase("/%2eenv")]
    [TestCase("/sub/.hidden")]
    [TestCase("/.git/config")]
    [TestCase("/.git/")]
    [TestCase("/.git")]
    [TestCase("/sub/../.env")]
    public async Task Get_Dotfile_Returns404(string target)
    {
        // Arrange
        await using var server = TestServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, ".env"), "dotfile-secret env\n");
        Directory.CreateDirectory(Path.Combine(server.Root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(server.Root, "sub", ".hidden"), "dotfile-secret hidden\n");
        Directory.CreateDirectory(Path.Combine(server.Root, ".git"));
        await File.WriteAllTextAsync(Path.Combine(server.Root, ".git", "config"), "dotfile-secret git\n");
        await File.WriteAllTextAsync(Path.Combine(server.Root, ".git", "index.html"), "dotfile-secret git index\n");
        using var client = await server.ConnectAsync();

        // Act
        var (response, raw) = await GetAndReadToCloseAsync(client, target);

        // Assert
        Assert.That(response.Status, Is.EqualTo(404), $"target '{target}'; arrived: {response.RawHead}");
        Assert.That(raw, Does.Not.Contain("dotfile-secret"), $"target '{target}' served a dotfile");
    }

    // ---------------------------------------------------------------- canonicalisation

    [TestCase("/a/./b/../../index.html")]
    [TestCase("/./index.html")]
    [TestCase("//index.html")]
    [TestCase("/sub/../index.html")]
    [TestCase("/%69ndex.html")]
    [TestCase("/index.html?v=1")]
    public async Task Get_NonCanonicalPathToIndex_ServesIndexHtml(string target)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, target);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), $"target '{target}'; arrived: {response.RawHead}");
        Assert.That(response.BodyText, Is.EqualTo(IndexHtml));
    }

    [Test]
    public async Task Get_DotSegmentsInsideSubfolder_ResolveLexicallyPerRfc3986()
    {
        // Arrange: RFC 3986 §5.2.4 — "/a/./b/../index.html" is "/a/index.html", not "/index.html".
        await using var server = TestServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "a"));
        await File.WriteAllTextAsync(Path.Combine(server.Root, "a", "index.html"), "a page\n");
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/a/./b/../index.html");

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
        Assert.That(response.BodyText, Is.EqualTo("a page\n"));
    }

    // ---------------------------------------------------------------- keep-alive

    [Test]
    public async Task Get_SeveralFilesOnOneConnection_AllServed()
    {
        // Arrange
        await using var server = TestServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, "app.js"), "console.log(1);\n");
        await File.WriteAllTextAsync(Path.Combine(server.Root, "style.css"), "p{color:red}\n");
        using var client = await server.ConnectAsync();
        (string Target, int Status, string Body)[] expected =
        [
            ("/", 200, IndexHtml),
            ("/app.js", 200, "console.log(1);\n"),
            ("/missing", 404, "404 Not Found\n"),
            ("/style.css", 200, "p{color:red}\n"),
            ("/index.html", 200, IndexHtml),
        ];

        // Act and Assert: one after another, then all pipelined in one write.
        foreach (var (target, status, body) in expected)
        {
            var response = await GetAsync(client, target);
            Assert.That(response.Status, Is.EqualTo(status), $"sequential '{target}': {response.RawHead}");
            Assert.That(response.BodyText, Is.EqualTo(body), $"sequential '{target}'");
        }

        await client.SendAsync(string.Concat(expected.Select(e => Request("GET", e.Target))));
        foreach (var (target, status, body) in expected)
        {
            var response = await client.ReadResponseAsync();
            Assert.That(response.Status, Is.EqualTo(status), $"pipelined '{target}': {response.RawHead}");
            Assert.That(response.BodyText, Is.EqualTo(body), $"pipelined '{target}'");
        }

        Assert.That(client.Socket.Connected, Is.True);
    }

    // ---------------------------------------------------------------- files changing on disk

    // A path's answer is reused for up to StaticFiles.RevalidateAfterMs; after that the disk is asked again.
    [TestCase("changed")]
    [TestCase("removed")]
    [TestCase("created")]
    [Category("Timing")]
    public async Task Get_FileChangesOnDisk_NewStateServedWithinTheRevalidationTime(string change)
    {
        // Arrange: the path has been answered once, so its answer is remembered.
        await using var server = TestServer.Start();
        var path = Path.Combine(server.Root, "live.txt");
        if (change != "created")
        {
            await File.WriteAllTextAsync(path, "first version\n");
        }

        using var client = await server.ConnectAsync();
        var before = await GetAsync(client, "/live.txt");
        Assert.That(before.Status, Is.EqualTo(change == "created" ? 404 : 200), before.RawHead);

        // Act
        var changedAt = DateTime.UtcNow;
        if (change == "removed")
        {
            File.Delete(path);
        }
        else
        {
            await File.WriteAllTextAsync(path, "second, longer version\n");
        }

        HttpResponse after = before;
        bool seen = await Polling.UntilAsync(async () =>
        {
            after = await GetAsync(client, "/live.txt");
            return change == "removed" ? after.Status == 404 : after.Status == 200 && after.BodyText == "second, longer version\n";
        }, TimeSpan.FromSeconds(5));

        // Assert
        Assert.That(seen, Is.True, $"the {change} file was not served as such within 5 s; last answer: {after.RawHead}{after.BodyText}");
        Assert.That(DateTime.UtcNow - changedAt, Is.LessThan(TimeSpan.FromMilliseconds(StaticFiles.RevalidateAfterMs + 1000)),
            "the new state should be served within the revalidation time");
        if (change == "changed")
        {
            Assert.That(Header(after, "ETag"), Is.Not.EqualTo(Header(before, "ETag")), "a changed file gets a new ETag");
            Assert.That(Header(after, "Content-Length"), Is.EqualTo("23"), after.RawHead);
        }
    }

        // ---------------------------------------------------------------- helpers

    private static string Request(string method, string target, string headers = "") =>
        $"{method} {target} HTTP/1.1\r\nHost: test\r\n{headers}\r\n";

    private static async Task<HttpResponse> GetAsync(RawClient client, string target)
    {
        await client.SendAsync(Request("GET", target));
        return await client.ReadResponseAsync();
    }

    /// <summary>
    /// Asks the server to close after answering and keeps everything it sends, however it is framed:
    /// a leak must show up even if the response lies about its length.
    /// </summary>
    private static async Task<(HttpResponse Response, string Raw)> GetAndReadToCloseAsync(RawClient client, string target)
    {
        await client.SendAsync(Request("GET", target, "Connection: close\r\n"));
        byte[] bytes = await client.ReadToEndAsync();
        var raw = Encoding.Latin1.GetString(bytes);
        int end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.That(end, Is.GreaterThan(0), $"no complete response head for '{target}'; arrived: '{Describe.Escape(raw)}'");
        var response = HttpResponse.Parse(bytes.AsSpan(0, end + 4));
        response.Body = bytes[(end + 4)..];
        return (response, raw);
    }

    /// <summary>After a response that must have no body, the next response's status line has to come first.</summary>
    private static async Task AssertNoStrayBodyAsync(RawClient client, string after)
    {
        await client.SendAsync(Request("GET", "/probe-missing"));
        var head = await client.ReadUntilAsync("\r\n\r\n");
        Assert.That(head, Does.StartWith("HTTP/1.1 404 Not Found\r\n"),
            $"after {after}, expected the next status line at once; arrived: '{Describe.Escape(head)}'");
        await client.ReadUntilAsync("404 Not Found\n");
    }

    private static string Header(HttpResponse response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : $"<no {name} header>";

    private static bool TryParseHttpDate(string value, out DateTimeOffset date) =>
        DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out date);

    private static DateTimeOffset TruncateToSeconds(DateTime utc) =>
        new(utc.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static int FirstDifference(byte[] actual, byte[] expected)
    {
        int common = Math.Min(actual.Length, expected.Length);
        int i = actual.AsSpan(0, common).CommonPrefixLength(expected.AsSpan(0, common));
        return i;
    }

    /// <summary>
    /// A private temp folder P holding the root P/public (with index.html), a secret P/secret.txt next to it,
    /// and P/public-evil/secret.txt whose path shares the root's prefix. Deleted as a whole on dispose.
    /// </summary>
    private sealed class Sandbox : IDisposable
    {
        public Sandbox()
        {
            Parent = Directory.CreateTempSubdirectory("rawsse-static-").FullName;
            Root = Path.Combine(Parent, "public");
            Directory.CreateDirectory(Root);
            File.WriteAllText(Path.Combine(Root, "index.html"), IndexHtml);
            Directory.CreateDirectory(Path.Combine(Root, "sub"));
            Marker = "TOP-SECRET-" + Guid.NewGuid().ToString("N");
            SecretPath = Path.Combine(Parent, "secret.txt");
            File.WriteAllText(SecretPath, Marker + "\n");
            var sibling = Path.Combine(Parent, "public-evil");
            Directory.CreateDirectory(sibling);
            SiblingSecretPath = Path.Combine(sibling, "secret.txt");
            File.WriteAllText(SiblingSecretPath, Marker + " sibling\n");
        }

        public string Parent { get; }
        public string Root { get; }
        public string SecretPath { get; }
        public string SiblingSecretPath { get; }
        public string Marker { get; }

        public void Dispose()
        {
            try
            {
                // Symlinks inside are removed as links; their targets are deleted only because they live here too.
                Directory.Delete(Parent, recursive: true);
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
