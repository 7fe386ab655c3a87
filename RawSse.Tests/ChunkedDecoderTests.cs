using System.Buffers;
using System.Globalization;
using System.Text;
using RawSse.Http;

namespace RawSse.Tests;

/// <summary>
/// The chunked decoder on its own, as the request parser is tested: every way of splitting the input gives the same
/// body, a byte at a time included; every malformed input is refused with its status; and a seeded fuzz run of
/// random valid and corrupted bodies never yields anything but the body or a refusal.
/// </summary>
[TestFixture]
public sealed class ChunkedDecoderTests
{
    private const string Encoded = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: t\r\n\r\n";
    private const string Decoded = "Wikipedia in\r\n\r\nchunks.";

    [Test]
    public void Decode_SplitAtEveryByte_SameBodyEveryTime()
    {
        // Arrange
        byte[] input = Encoding.ASCII.GetBytes(Encoded);
        var results = new List<string>();

        // Act: split in two at every position, each half decoded as it "arrives".
        for (int split = 0; split <= input.Length; split++)
        {
            results.Add(DecodeInPieces(input, [split, input.Length - split]));
        }

        // Assert
        Assert.That(results.Distinct(), Is.EqualTo(new[] { Decoded }));
    }

    [Test]
    public void Decode_OneByteAtATime_SameBody()
    {
        // Arrange
        byte[] input = Encoding.ASCII.GetBytes(Encoded);

        // Act
        string body = DecodeInPieces(input, Enumerable.Repeat(1, input.Length).ToArray());

        // Assert
        Assert.That(body, Is.EqualTo(Decoded));
    }

    [TestCase("10000000000000000\r\n", 400, TestName = "Decode_SizeOf17HexDigits_Refused400")]
    [TestCase("-1\r\n", 400, TestName = "Decode_NegativeSize_Refused400")]
    [TestCase("\r\n", 400, TestName = "Decode_EmptySizeLine_Refused400")]
    [TestCase("3\r\nabcd\r\n", 400, TestName = "Decode_DataLongerThanItsSize_Refused400")]
    [TestCase("3\r\nabc\n0\r\n\r\n", 400, TestName = "Decode_DataEndingInBareLf_Refused400")]
    [TestCase("3\rabc\r\n", 400, TestName = "Decode_SizeLineBareCr_Refused400")]
    [TestCase("3;a\u0001b\r\nabc\r\n", 400, TestName = "Decode_ControlInExtension_Refused400")]
    [TestCase("0\r\nno colon here\r\n\r\n", 400, TestName = "Decode_MalformedTrailer_Refused400")]
    [TestCase("401\r\n", 413, TestName = "Decode_ChunkPastTheLimit_Refused413")]
    public void Decode_Malformed_RefusedWithItsStatus(string input, int status)
    {
        // Arrange
        byte[] bytes = Encoding.ASCII.GetBytes(input);

        // Act
        var error = Assert.Throws<BadRequestException>(() =>
        {
            var decoder = new ChunkedDecoder(maxBytes: 1024);
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
            decoder.Decode(ref reader, into: null);
        });

        // Assert
        Assert.That(error!.StatusCode, Is.EqualTo(status), error.Message);
    }

    [Test]
    public void Decode_SeededRandomBodies_ValidOnesDecodeCorruptedOnesRefusedNeverAnythingElse()
    {
        // Arrange: RAWSSE_FUZZ_SEED replays a run.
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RAWSSE_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : 20261201;
        var random = new Random(seed);
        int decoded = 0, refused = 0;

        // Act
        for (int round = 0; round < 5000; round++)
        {
            var (encoded, body) = RandomBody(random);
            bool corrupt = round % 3 == 0;
            if (corrupt)
            {
                encoded[random.Next(encoded.Length)] = (byte)random.Next(256);
            }

            var pieces = RandomPieces(random, encoded.Length);
            try
            {
                string result = DecodeInPieces(encoded, pieces);
                decoded++;
                if (!corrupt)
                {
                    Assert.That(result, Is.EqualTo(body), $"seed {seed}, round {round}");
                }
            }
            catch (BadRequestException ex)
            {
                refused++;
                Assert.That(corrupt, Is.True, $"seed {seed}, round {round}: a valid body was refused ({ex.Message})");
                Assert.That(ex.StatusCode, Is.EqualTo(400).Or.EqualTo(413), $"seed {seed}, round {round}");
            }
            catch (IncompleteException) when (corrupt)
            {
                // A corrupted size can announce more than there is: the decoder waits for it, as it should.
            }
        }

        // Assert
        TestContext.Out.WriteLine($"seed {seed}: {decoded} decoded, {refused} refused");
        Assert.That(refused, Is.GreaterThan(100), "the corruptions were seen");
    }

    private static (byte[] Encoded, string Body) RandomBody(Random random)
    {
        var encoded = new StringBuilder();
        var body = new StringBuilder();
        int chunks = random.Next(0, 6);
        for (int i = 0; i < chunks; i++)
        {
            string data = new(Enumerable.Range(0, random.Next(1, 40)).Select(_ => (char)random.Next(0x20, 0x7F)).ToArray());
            encoded.Append(data.Length.ToString(random.Next(2) == 0 ? "x" : "X", CultureInfo.InvariantCulture));
            if (random.Next(4) == 0)
            {
                encoded.Append(";name=value");
            }

            encoded.Append("\r\n").Append(data).Append("\r\n");
            body.Append(data);
        }

        encoded.Append("0\r\n");
        if (random.Next(4) == 0)
        {
            encoded.Append("X-Checksum: abc\r\n");
        }

        encoded.Append("\r\n");
        return (Encoding.ASCII.GetBytes(encoded.ToString()), body.ToString());
    }

    private static int[] RandomPieces(Random random, int length)
    {
        var pieces = new List<int>();
        while (length > 0)
        {
            int piece = Math.Min(length, random.Next(1, 16));
            pieces.Add(piece);
            length -= piece;
        }

        return [.. pieces];
    }

    // Feeds the input in pieces, as reads would deliver it, keeping what the decoder left unread for the next read.
    private static string DecodeInPieces(byte[] input, int[] pieces)
    {
        var decoder = new ChunkedDecoder(maxBytes: 1 << 20);
        using var body = new BodyBuffer();
        int arrived = 0, consumed = 0;
        foreach (int piece in pieces)
        {
            arrived += piece;
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(input, consumed, arrived - consumed));
            if (decoder.Decode(ref reader, body))
            {
                return Encoding.ASCII.GetString(body.Span);
            }

            consumed += (int)reader.Consumed;
        }

        throw new IncompleteException();
    }

    private sealed class IncompleteException() : Exception("the body is not complete");
}
