using System.Text;
using RawSse.Http;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// A publish body's <c>data</c> value decoded straight into its frame (<see cref="SseFrames.EncodeFormData"/>) gives,
/// byte for byte, the frame of the same event decoded to text first and encoded as the in-process API would: every
/// escape, '+', raw and escaped CR, LF and CRLF, and a '%' that starts no escape; and the payload read back from the
/// frame is the text with its line breaks made LF.
/// </summary>
[TestFixture]
public sealed class FormFramesTests
{
    private const string Epoch = "k3j9x0a2";

    private static readonly string[] s_encoded =
    [
        "",
        "hello",
        "hello+world",
        "a%0Ab",
        "a%0D%0Ab%0Dc%0A",
        "%0D",
        "%0D%0A",
        "%0A%0D",
        "raw\r\nbreaks\rand\nmore",
        "%0D\n",
        "100%+sure%2",
        "%zz%4",
        "%C3%BCn%C3%AFcode+%F0%9F%99%82",
        "caf\u00e9 as raw UTF-8",
        "%00nul",
        "trailing%",
        "ends+with+CR%0D",
    ];

    [Test]
    public void EncodeFormData_OwnId_SameBytesAsTextPath([Range(0, 16)] int which, [Values(null, "kind")] string? type, [Values(null, 1500)] int? retry)
    {
        // Arrange
        byte[] encoded = Encoding.UTF8.GetBytes(s_encoded[which]);
        Assert.That(FormParser.TryDecode(encoded, out var text), Is.True);
        var viaText = new SseEvent(text, type, "own-id", retry);

        // Act
        var shape = SseFrames.MeasureFormData(encoded);
        var ev = SseFrames.EncodeFormData(encoded, shape, type, "own-id", retry, Epoch, digits: 0);
        int sizeBeforeText = ev?.DataSize ?? -1;

        // Assert
        Assert.That(ev, Is.Not.Null);
        Assert.That(Describe.Escape(Encoding.UTF8.GetString(ev!.Prepared!.Frame)), Is.EqualTo(Describe.Escape(Encoding.UTF8.GetString(SseFrames.Encode(viaText, "own-id")))));
        Assert.That(ev.Prepared.IdAt, Is.EqualTo(-1), "no slot: the frame has its own id");
        Assert.That(ev.Data, Is.EqualTo(text.ReplaceLineEndings("\n")), "the payload read back from the frame");
        Assert.That(sizeBeforeText, Is.EqualTo(shape.DataBytes), "charged its UTF-8 bytes while no text was made");
    }

    [Test]
    public void EncodeFormData_IdSlotStamped_SameBytesAsTextPath([Range(0, 16)] int which, [Values(7L, 123_456L)] long sequence)
    {
        // Arrange
        byte[] encoded = Encoding.UTF8.GetBytes(s_encoded[which]);
        Assert.That(FormParser.TryDecode(encoded, out var text), Is.True);
        int digits = SseFrames.DigitsOf(sequence);

        // Act
        var ev = SseFrames.EncodeFormData(encoded, SseFrames.MeasureFormData(encoded), "t", null, null, Epoch, digits);
        var prepared = ev!.Prepared!;
        bool stamped = SseFrames.TryStampId(prepared.Frame, prepared.IdAt, prepared.IdDigits, sequence);

        // Assert
        Assert.That(stamped, Is.True);
        Assert.That(prepared.Frame, Is.EqualTo(SseFrames.Encode(new SseEvent(text, "t"), $"{Epoch}-{sequence}")), "byte for byte");
        Assert.That(ev.Id, Is.Null);
    }

    [TestCase("%FF")]
    [TestCase("%C3")]
    [TestCase("ok%0A%C3")]
    [TestCase("%ED%A0%80")] // an encoded surrogate
    [TestCase("%C3%0A%BC")] // a sequence cut by a line break
    public void EncodeFormData_NotUtf8OnceDecoded_Null(string encoded)
    {
        // Arrange
        byte[] bytes = Encoding.ASCII.GetBytes(encoded);

        // Act
        var ev = SseFrames.EncodeFormData(bytes, SseFrames.MeasureFormData(bytes), null, null, null, Epoch, digits: 1);

        // Assert
        Assert.That(ev, Is.Null);
    }

    [Test]
    public void TryTake_Twice_OnlyTheFirstOwnsTheFrame()
    {
        // Arrange
        byte[] bytes = "x"u8.ToArray();
        var prepared = SseFrames.EncodeFormData(bytes, SseFrames.MeasureFormData(bytes), null, null, null, Epoch, digits: 1)!.Prepared!;

        // Act
        bool first = prepared.TryTake();
        bool second = prepared.TryTake();

        // Assert
        Assert.That((first, second), Is.EqualTo((true, false)));
    }
}
