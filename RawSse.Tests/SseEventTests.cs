using System.Net.ServerSentEvents;
using System.Text;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// SseEvent's wire format: the exact bytes it writes, the fields it refuses, and a round trip through
/// System.Net.ServerSentEvents.SseParser (WHATWG HTML §9.2.6 "Interpreting an event stream").
/// </summary>
[TestFixture]
public sealed class SseEventTests
{
    [Test]
    public void Encode_SimpleEvent_ExactBytes()
    {
        // Arrange
        var ev = new SseEvent("hello", type: "tick");

        // Act
        byte[] frame = SseFrames.Encode(ev, "7");

        // Assert
        AssertFrame(frame, "id: 7\nevent: tick\ndata: hello\n\n");
    }

    [Test]
    public void Encode_NoIdNoType_OnlyDataLine()
    {
        // Arrange
        var ev = new SseEvent("x");

        // Act
        byte[] frame = SseFrames.Encode(ev, null);

        // Assert
        AssertFrame(frame, "data: x\n\n");
    }

    [Test]
    public void Encode_EmptyType_NoEventLine()
    {
        // Arrange
        var ev = new SseEvent("x", type: "");

        // Act
        byte[] frame = SseFrames.Encode(ev, "1");

        // Assert
        AssertFrame(frame, "id: 1\ndata: x\n\n");
    }

    [TestCase("a\nb", "data: a\ndata: b\n")]
    [TestCase("a\r\nb", "data: a\ndata: b\n")]
    [TestCase("a\rb", "data: a\ndata: b\n")]
    [TestCase("a\nb\r\nc\rd", "data: a\ndata: b\ndata: c\ndata: d\n")]
    [TestCase("a\r\n\r\nb", "data: a\ndata: \ndata: b\n")]
    [TestCase("a\n\rb", "data: a\ndata: \ndata: b\n")]
    [TestCase("a\r\r\nb", "data: a\ndata: \ndata: b\n")]
    [TestCase("a\n", "data: a\ndata: \n")]
    [TestCase("a\r", "data: a\ndata: \n")]
    [TestCase("\n", "data: \ndata: \n")]
    [TestCase("\r\n", "data: \ndata: \n")]
    public void Encode_DataWithLineBreaks_OneDataLinePerLine(string data, string expectedDataLines)
    {
        // Arrange
        var ev = new SseEvent(data);

        // Act
        byte[] frame = SseFrames.Encode(ev, null);

        // Assert
        AssertFrame(frame, expectedDataLines + "\n");
    }

    [Test]
    public void Encode_EmptyData_OneEmptyDataLine()
    {
        // Arrange
        var ev = new SseEvent("");

        // Act
        byte[] frame = SseFrames.Encode(ev, null);

        // Assert
        AssertFrame(frame, "data: \n\n");
    }

    [Test]
    public void Encode_WithRetry_RetryLineFirst()
    {
        // Arrange
        var ev = new SseEvent("x", type: "t", retry: 1500);

        // Act
        byte[] frame = SseFrames.Encode(ev, "3");

        // Assert
        AssertFrame(frame, "retry: 1500\nid: 3\nevent: t\ndata: x\n\n");
    }

    [Test]
    public void Encode_UnicodeData_Utf8Bytes()
    {
        // Arrange
        var ev = new SseEvent("é😀");

        // Act
        byte[] frame = SseFrames.Encode(ev, null);

        // Assert
        Assert.That(frame, Is.EqualTo(Concat("data: "u8, [0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80], "\n\n"u8)));
    }

    [Test]
    public void Encode_IdWithLeadingSpace_SurvivesParser()
    {
        // Arrange: the parser drops exactly one space after the colon, so the encoder must write "id: " with its space.
        var ev = new SseEvent("x", id: " 7");

        // Act
        byte[] frame = SseFrames.Encode(ev, ev.Id);
        var items = SseStream.Parse(frame);

        // Assert
        AssertFrame(frame, "id:  7\ndata: x\n\n");
        Assert.That(items, Has.Count.EqualTo(1), $"events parsed from '{Escape(frame)}'");
        Assert.That(items[0].EventId, Is.EqualTo(" 7"));
    }

    [Test]
    public void Encode_TypeWithLeadingSpace_SurvivesParser()
    {
        // Arrange
        var ev = new SseEvent("x", type: "  spaced");

        // Act
        var items = SseStream.Parse(SseFrames.Encode(ev, null));

        // Assert
        Assert.That(items, Has.Count.EqualTo(1));
        Assert.That(items[0].EventType, Is.EqualTo("  spaced"));
    }

    [TestCase("a\rb")]
    [TestCase("a\nb")]
    [TestCase("a\0b")]
    [TestCase("\r")]
    [TestCase("ab\n")]
    public void Constructor_IdWithCrLfOrNul_ThrowsArgumentException(string id)
    {
        // Arrange / Act / Assert
        Assert.That(() => new SseEvent("x", id: id), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("id"));
    }

    [TestCase("a\rb")]
    [TestCase("a\nb")]
    [TestCase("a\0b")]
    [TestCase("\n")]
    [TestCase("tick\r\n")]
    public void Constructor_TypeWithCrLfOrNul_ThrowsArgumentException(string type)
    {
        // Arrange / Act / Assert
        Assert.That(() => new SseEvent("x", type: type), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("type"));
    }

    [Test]
    public void Constructor_NullData_ThrowsArgumentNullException()
    {
        // Arrange / Act / Assert
        Assert.That(() => new SseEvent(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void Constructor_NegativeRetry_ThrowsArgumentOutOfRangeException()
    {
        // Arrange / Act / Assert
        Assert.That(() => new SseEvent("x", retry: -1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    private static IEnumerable<TestCaseData> TrickyPayloads()
    {
        yield return Case("plain", "hello", null, null);
        yield return Case("leading spaces", "   three spaces", "t", "1");
        yield return Case("one leading space", " x", null, "2");
        yield return Case("only spaces", "  ", null, null);
        yield return Case("empty", "", null, null);
        yield return Case("empty lines inside", "a\n\n\nb", "t", "3");
        yield return Case("empty lines around", "\n\na\n\n", null, "4");
        yield return Case("trailing LF", "line\n", null, null);
        yield return Case("trailing CRLF", "line\r\n", null, null);
        yield return Case("only LF", "\n", null, null);
        yield return Case("only CRLF", "\r\n", null, null);
        yield return Case("lone CRs", "a\rb\r\rc\r", "cr", "5");
        yield return Case("LF then CR", "a\n\rb", null, null);
        yield return Case("CR CR LF", "a\r\r\nb", null, null);
        yield return Case("mixed breaks", "one\r\ntwo\nthree\rfour", null, "6");
        yield return Case("unicode", "é ü ß 中文 Ω \u00a0 😀 👍🏽 👨‍👩‍👧", "ünï", "ïd-😀");
        yield return Case("emoji only", "😀😀", null, null);
        yield return Case("data: inside data", "data: injected\ndata:also", null, "7");
        yield return Case("field-like lines", "id: 99\nevent: forged\nretry: 1\n", "real", "8");
        yield return Case("colon at line start", ":comment-like\n: another", null, null);
        yield return Case("colon only", ":", null, null);
        yield return Case("blank-line injection", "a\n\nid: 666\nevent: forged\ndata: b", "real", "9");
        yield return Case("tab and NUL in data", "\ta\0b\t", null, null);
        yield return Case("empty id", "x", null, "");
        yield return Case("id with colon and spaces", "x", null, " a: b ");
        yield return Case("type with colon", "x", "a:b", null);
    }

    private static TestCaseData Case(string name, string data, string? type, string? id) =>
        new TestCaseData(data, type, id).SetArgDisplayNames(name);

    [TestCaseSource(nameof(TrickyPayloads))]
    public void Encode_TrickyPayload_RoundTripsThroughSseParser(string data, string? type, string? id)
    {
        // Arrange
        var ev = new SseEvent(data, type, id);

        // Act
        byte[] frame = SseFrames.Encode(ev, id);
        var items = SseStream.Parse(frame);

        // Assert
        Assert.That(items, Has.Count.EqualTo(1), $"expected exactly one event from '{Escape(frame)}'");
        Assert.Multiple(() =>
        {
            Assert.That(Escape(items[0].Data), Is.EqualTo(Escape(Normalise(data))), $"data of '{Escape(frame)}'");
            Assert.That(items[0].EventType, Is.EqualTo(ExpectedType(type)), "event type");
            Assert.That(items[0].EventId, Is.EqualTo(id), "event id");
        });
    }

    [Test]
    public async Task Encode_TrickyPayloadsInOneStream_ParserYieldsEachOnceInOrder()
    {
        // Arrange: every tricky case back to back, as a subscriber would receive them.
        var cases = TrickyPayloads().Select(c => ((string)c.Arguments[0]!, (string?)c.Arguments[1], (string?)c.Arguments[2])).ToList();
        var stream = new MemoryStream();
        foreach (var (data, type, id) in cases)
        {
            stream.Write(SseFrames.Encode(new SseEvent(data, type, id), id));
        }

        stream.Position = 0;

        // Act
        using var cts = new CancellationTokenSource(RawClient.DefaultTimeout);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
        {
            items.Add(item);
        }

        // Assert
        Assert.That(items, Has.Count.EqualTo(cases.Count), "one event per frame, never one more");
        for (int i = 0; i < cases.Count; i++)
        {
            var (data, type, id) = cases[i];
            Assert.That(Escape(items[i].Data), Is.EqualTo(Escape(Normalise(data))), $"data of event {i}");
            Assert.That(items[i].EventType, Is.EqualTo(ExpectedType(type)), $"type of event {i}");
            Assert.That(items[i].EventId, Is.EqualTo(id), $"id of event {i}");
        }
    }

    [Test]
    public void Encode_GeneratedPayloadsSeeded_ParserYieldsSameEventsInOrder()
    {
        // Arrange: a fixed seed, so a failure names the same event every run.
        const int Count = 2000;
        var random = new Random(1234);
        string[] dataAlphabet = ["\r", "\n", " ", ":", "é", "😀", "a"];
        string[] fieldAlphabet = [" ", ":", "é", "😀", "a", "1"];
        var expected = new List<(string Data, string? Type, string? Id, int? Retry)>(Count);
        var stream = new MemoryStream();
        for (int i = 0; i < Count; i++)
        {
            string data = RandomText(random, dataAlphabet, random.Next(0, 41));
            string? type = random.Next(4) == 0 ? null : RandomText(random, fieldAlphabet, random.Next(1, 7));
            string? id = random.Next(5) == 0 ? null : RandomText(random, fieldAlphabet, random.Next(0, 9));
            int? retry = random.Next(10) == 0 ? random.Next(0, 100_000) : null;
            expected.Add((data, type, id, retry));
            stream.Write(SseFrames.Encode(new SseEvent(data, type, id, retry), id));
        }

        byte[] all = stream.ToArray();

        // Act
        var items = SseStream.Parse(all);

        // Assert
        Assert.That(items, Has.Count.EqualTo(Count), "one event per generated frame, never one more");
        for (int i = 0; i < Count; i++)
        {
            var (data, type, id, retry) = expected[i];
            string context = $"event {i}: data '{Escape(data)}', type '{Escape(type ?? "<null>")}', id '{Escape(id ?? "<null>")}'";
            Assert.That(Escape(items[i].Data), Is.EqualTo(Escape(Normalise(data))), context);
            Assert.That(items[i].EventType, Is.EqualTo(ExpectedType(type)), context);
            Assert.That(items[i].EventId, Is.EqualTo(id), context);
            Assert.That(items[i].ReconnectionInterval, Is.EqualTo(retry is int ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null), context);
        }
    }

    // A surrogate pair is one alphabet entry, so it is never split.
    private static string RandomText(Random random, string[] alphabet, int length)
    {
        var builder = new StringBuilder(length * 2);
        for (int i = 0; i < length; i++)
        {
            builder.Append(alphabet[random.Next(alphabet.Length)]);
        }

        return builder.ToString();
    }

    // The parser splits lines on CRLF, LF or CR and joins data lines with LF.
    private static string Normalise(string data) => data.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');

    private static string ExpectedType(string? type) => string.IsNullOrEmpty(type) ? "message" : type;

    private static void AssertFrame(byte[] actual, string expected)
    {
        Assert.That(actual, Is.EqualTo(Encoding.UTF8.GetBytes(expected)), $"expected '{Describe.Escape(expected)}', arrived '{Escape(actual)}'");
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, byte[] b, ReadOnlySpan<byte> c) => [.. a, .. b, .. c];

    private static string Escape(byte[] bytes) => Describe.Escape(Encoding.UTF8.GetString(bytes));

    private static string Escape(string text) => Describe.Escape(text);
}
