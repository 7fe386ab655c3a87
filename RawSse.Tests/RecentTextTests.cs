using System.Text;
using RawSse.Http;

namespace RawSse.Tests;

/// <summary>
/// A keep-alive connection's last field values come back as the same string when the next request repeats them, and
/// a long one is not kept (an idle connection holds no client's long target).
/// </summary>
[TestFixture]
public sealed class RecentTextTests
{
    [Test]
    public void Get_SameBytesTwice_SameString()
    {
        // Arrange
        var recent = default(RecentText);
        byte[] host = "127.0.0.1:8080"u8.ToArray();

        // Act
        string first = recent.Get(host);
        string second = recent.Get(host);

        // Assert
        Assert.That(second, Is.SameAs(first));
        Assert.That(second, Is.EqualTo("127.0.0.1:8080"));
    }

    [Test]
    public void Get_OtherBytes_NewStringWithTheirText()
    {
        // Arrange
        var recent = default(RecentText);
        recent.Get("/publish"u8);

        // Act
        string other = recent.Get("/publisH"u8);

        // Assert
        Assert.That(other, Is.EqualTo("/publisH"));
    }

    [Test]
    public void Get_LongValueTwice_NotKept()
    {
        // Arrange
        var recent = default(RecentText);
        byte[] target = Encoding.ASCII.GetBytes("/" + new string('a', 4096));

        // Act
        string first = recent.Get(target);
        string second = recent.Get(target);

        // Assert
        Assert.That(second, Is.EqualTo(first));
        Assert.That(second, Is.Not.SameAs(first), "a value over 256 characters is made again, never held");
    }
}
