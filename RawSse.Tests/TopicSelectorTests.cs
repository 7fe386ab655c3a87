using System.Diagnostics;
using System.Text;
using RawSse.Auth;

namespace RawSse.Tests;

/// <summary>
/// Topic selectors as Mercure reads them: <c>*</c>, exact topics, and RFC 6570 URI Templates matched by the
/// translation in <see cref="UriTemplatePattern"/>: every expansion the RFC gives matches its template, the near
/// misses do not, text that is not a template is an exact topic, and hostile text neither throws nor costs much. A
/// compiled selector keeps a few hundred bytes, and a match allocates nothing, is safe on many threads at once and
/// takes steps linear in the topic.
/// </summary>
[TestFixture]
public sealed class TopicSelectorTests
{
    // A regression that makes compiling a selector heavy shows here. Measured on .NET 10 (x64) with the hand-written
    // automaton: 1.9 KB allocated per template like https://example.com/shelf-1/books/{id}{?page,sort},
    // 6.6 KB for 240 distinct CJK literals. The NonBacktracking regex before it allocated 0.8 MB and kept 0.4 MB
    // per template (3.0 MB allocated for the CJK one, and 159 MB over raw characters).
    private const long MaxAllocatedBytesPerTemplate = 64L << 10;

    // What a compiled selector may keep, its text aside. Measured: 297 bytes for
    // https://example.com/users/123/{+rest} and at most 4.9 KB for the largest templates, against 0.4 MB (and
    // never less than 50 KB) for a NonBacktracking regex.
    private const long MaxKeptBytesPerTemplate = 8L << 10;

    private const int MatchesMeasured = 10_000;
    private const int ConcurrentThreads = 4;

    private const int HostileCount = 200;
    private const int HostileSeed = 6570;
    private const int ExpansionSeed = 3986;
    private const int ExpansionTemplates = 300;
    private const int AssignmentsPerTemplate = 5;

    // Characters templates are made of, with the ones that break them and some beyond ASCII.
    private const string TemplateCharacters = "{{{}}},,::**+#./;?&=!@|%%0123456789abcxyzXYZ_-~ '\"<>\\^`[]$()\u00e9\u4e16\ufdd0";

    // RFC 6570 §1.2 (the examples of levels 1 to 4) and §3.2 (every expansion example), with the RFC's values:
    // count := ("one", "two", "three"); dom := ("example", "com"); dub := "me/too"; hello := "Hello World!";
    // half := "50%"; var := "value"; who := "fred"; base := "http://example.com/home/"; path := "/foo/bar";
    // list := ("red", "green", "blue"); keys := [("semi", ";"), ("dot", "."), ("comma", ",")]; v := "6";
    // x := "1024"; y := "768"; empty := ""; empty_keys := []; undef := null.
    private static readonly object[] s_rfcExpansions =
    [
        new object[] { "1.2 level 1", "{var}", "value" },
        new object[] { "1.2 level 1", "{hello}", "Hello%20World%21" },
        new object[] { "1.2 level 2", "{+var}", "value" },
        new object[] { "1.2 level 2", "{+hello}", "Hello%20World!" },
        new object[] { "1.2 level 2", "{+path}/here", "/foo/bar/here" },
        new object[] { "1.2 level 2", "here?ref={+path}", "here?ref=/foo/bar" },
        new object[] { "1.2 level 2", "X{#var}", "X#value" },
        new object[] { "1.2 level 2", "X{#hello}", "X#Hello%20World!" },
        new object[] { "1.2 level 3", "map?{x,y}", "map?1024,768" },
        new object[] { "1.2 level 3", "{x,hello,y}", "1024,Hello%20World%21,768" },
        new object[] { "1.2 level 3", "{+x,hello,y}", "1024,Hello%20World!,768" },
        new object[] { "1.2 level 3", "{+path,x}/here", "/foo/bar,1024/here" },
        new object[] { "1.2 level 3", "{#x,hello,y}", "#1024,Hello%20World!,768" },
        new object[] { "1.2 level 3", "{#path,x}/here", "#/foo/bar,1024/here" },
        new object[] { "1.2 level 3", "X{.var}", "X.value" },
        new object[] { "1.2 level 3", "X{.x,y}", "X.1024.768" },
        new object[] { "1.2 level 3", "{/var}", "/value" },
        new object[] { "1.2 level 3", "{/var,x}/here", "/value/1024/here" },
        new object[] { "1.2 level 3", "{;x,y}", ";x=1024;y=768" },
        new object[] { "1.2 level 3", "{;x,y,empty}", ";x=1024;y=768;empty" },
        new object[] { "1.2 level 3", "{?x,y}", "?x=1024&y=768" },
        new object[] { "1.2 level 3", "{?x,y,empty}", "?x=1024&y=768&empty=" },
        new object[] { "1.2 level 3", "?fixed=yes{&x}", "?fixed=yes&x=1024" },
        new object[] { "1.2 level 3", "{&x,y,empty}", "&x=1024&y=768&empty=" },
        new object[] { "1.2 level 4", "{var:3}", "val" },
        new object[] { "1.2 level 4", "{var:30}", "value" },
        new object[] { "1.2 level 4", "{list}", "red,green,blue" },
        new object[] { "1.2 level 4", "{list*}", "red,green,blue" },
        new object[] { "1.2 level 4", "{keys}", "semi,%3B,dot,.,comma,%2C" },
        new object[] { "1.2 level 4", "{keys*}", "semi=%3B,dot=.,comma=%2C" },
        new object[] { "1.2 level 4", "{+path:6}/here", "/foo/b/here" },
        new object[] { "1.2 level 4", "{+list}", "red,green,blue" },
        new object[] { "1.2 level 4", "{+list*}", "red,green,blue" },
        new object[] { "1.2 level 4", "{+keys}", "semi,;,dot,.,comma,," },
        new object[] { "1.2 level 4", "{+keys*}", "semi=;,dot=.,comma=," },
        new object[] { "1.2 level 4", "{#path:6}/here", "#/foo/b/here" },
        new object[] { "1.2 level 4", "{#list}", "#red,green,blue" },
        new object[] { "1.2 level 4", "{#list*}", "#red,green,blue" },
        new object[] { "1.2 level 4", "{#keys}", "#semi,;,dot,.,comma,," },
        new object[] { "1.2 level 4", "{#keys*}", "#semi=;,dot=.,comma=," },
        new object[] { "1.2 level 4", "X{.var:3}", "X.val" },
        new object[] { "1.2 level 4", "X{.list}", "X.red,green,blue" },
        new object[] { "1.2 level 4", "X{.list*}", "X.red.green.blue" },
        new object[] { "1.2 level 4", "X{.keys}", "X.semi,%3B,dot,.,comma,%2C" },
        new object[] { "1.2 level 4", "X{.keys*}", "X.semi=%3B.dot=..comma=%2C" },
        new object[] { "1.2 level 4", "{/var:1,var}", "/v/value" },
        new object[] { "1.2 level 4", "{/list}", "/red,green,blue" },
        new object[] { "1.2 level 4", "{/list*}", "/red/green/blue" },
        new object[] { "1.2 level 4", "{/list*,path:4}", "/red/green/blue/%2Ffoo" },
        new object[] { "1.2 level 4", "{/keys}", "/semi,%3B,dot,.,comma,%2C" },
        new object[] { "1.2 level 4", "{/keys*}", "/semi=%3B/dot=./comma=%2C" },
        new object[] { "1.2 level 4", "{;hello:5}", ";hello=Hello" },
        new object[] { "1.2 level 4", "{;list}", ";list=red,green,blue" },
        new object[] { "1.2 level 4", "{;list*}", ";list=red;list=green;list=blue" },
        new object[] { "1.2 level 4", "{;keys}", ";keys=semi,%3B,dot,.,comma,%2C" },
        new object[] { "1.2 level 4", "{;keys*}", ";semi=%3B;dot=.;comma=%2C" },
        new object[] { "1.2 level 4", "{?var:3}", "?var=val" },
        new object[] { "1.2 level 4", "{?list}", "?list=red,green,blue" },
        new object[] { "1.2 level 4", "{?list*}", "?list=red&list=green&list=blue" },
        new object[] { "1.2 level 4", "{?keys}", "?keys=semi,%3B,dot,.,comma,%2C" },
        new object[] { "1.2 level 4", "{?keys*}", "?semi=%3B&dot=.&comma=%2C" },
        new object[] { "1.2 level 4", "{&var:3}", "&var=val" },
        new object[] { "1.2 level 4", "{&list}", "&list=red,green,blue" },
        new object[] { "1.2 level 4", "{&list*}", "&list=red&list=green&list=blue" },
        new object[] { "1.2 level 4", "{&keys}", "&keys=semi,%3B,dot,.,comma,%2C" },
        new object[] { "1.2 level 4", "{&keys*}", "&semi=%3B&dot=.&comma=%2C" },

        new object[] { "3.2.1", "{count}", "one,two,three" },
        new object[] { "3.2.1", "{count*}", "one,two,three" },
        new object[] { "3.2.1", "{/count}", "/one,two,three" },
        new object[] { "3.2.1", "{/count*}", "/one/two/three" },
        new object[] { "3.2.1", "{;count}", ";count=one,two,three" },
        new object[] { "3.2.1", "{;count*}", ";count=one;count=two;count=three" },
        new object[] { "3.2.1", "{?count}", "?count=one,two,three" },
        new object[] { "3.2.1", "{?count*}", "?count=one&count=two&count=three" },
        new object[] { "3.2.1", "{&count*}", "&count=one&count=two&count=three" },

        new object[] { "3.2.2", "{var}", "value" },
        new object[] { "3.2.2", "{hello}", "Hello%20World%21" },
        new object[] { "3.2.2", "{half}", "50%25" },
        new object[] { "3.2.2", "O{empty}X", "OX" },
        new object[] { "3.2.2", "O{undef}X", "OX" },
        new object[] { "3.2.2", "{x,y}", "1024,768" },
        new object[] { "3.2.2", "{x,hello,y}", "1024,Hello%20World%21,768" },
        new object[] { "3.2.2", "?{x,empty}", "?1024," },
        new object[] { "3.2.2", "?{x,undef}", "?1024" },
        new object[] { "3.2.2", "?{undef,y}", "?768" },
        new object[] { "3.2.2", "{var:3}", "val" },
        new object[] { "3.2.2", "{var:30}", "value" },
        new object[] { "3.2.2", "{list}", "red,green,blue" },
        new object[] { "3.2.2", "{list*}", "red,green,blue" },
        new object[] { "3.2.2", "{keys}", "semi,%3B,dot,.,comma,%2C" },
        new object[] { "3.2.2", "{keys*}", "semi=%3B,dot=.,comma=%2C" },

        new object[] { "3.2.3", "{+var}", "value" },
        new object[] { "3.2.3", "{+hello}", "Hello%20World!" },
        new object[] { "3.2.3", "{+half}", "50%25" },
        new object[] { "3.2.3", "{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex" },
        new object[] { "3.2.3", "{+base}index", "http://example.com/home/index" },
        new object[] { "3.2.3", "O{+empty}X", "OX" },
        new object[] { "3.2.3", "O{+undef}X", "OX" },
        new object[] { "3.2.3", "{+path}/here", "/foo/bar/here" },
        new object[] { "3.2.3", "here?ref={+path}", "here?ref=/foo/bar" },
        new object[] { "3.2.3", "up{+path}{var}/here", "up/foo/barvalue/here" },
        new object[] { "3.2.3", "{+x,hello,y}", "1024,Hello%20World!,768" },
        new object[] { "3.2.3", "{+path,x}/here", "/foo/bar,1024/here" },
        new object[] { "3.2.3", "{+path:6}/here", "/foo/b/here" },
        new object[] { "3.2.3", "{+list}", "red,green,blue" },
        new object[] { "3.2.3", "{+list*}", "red,green,blue" },
        new object[] { "3.2.3", "{+keys}", "semi,;,dot,.,comma,," },
        new object[] { "3.2.3", "{+keys*}", "semi=;,dot=.,comma=," },

        new object[] { "3.2.4", "{#var}", "#value" },
        new object[] { "3.2.4", "{#hello}", "#Hello%20World!" },
        new object[] { "3.2.4", "{#half}", "#50%25" },
        new object[] { "3.2.4", "foo{#empty}", "foo#" },
        new object[] { "3.2.4", "foo{#undef}", "foo" },
        new object[] { "3.2.4", "{#x,hello,y}", "#1024,Hello%20World!,768" },
        new object[] { "3.2.4", "{#path,x}/here", "#/foo/bar,1024/here" },
        new object[] { "3.2.4", "{#path:6}/here", "#/foo/b/here" },
        new object[] { "3.2.4", "{#list}", "#red,green,blue" },
        new object[] { "3.2.4", "{#list*}", "#red,green,blue" },
        new object[] { "3.2.4", "{#keys}", "#semi,;,dot,.,comma,," },
        new object[] { "3.2.4", "{#keys*}", "#semi=;,dot=.,comma=," },

        new object[] { "3.2.5", "{.who}", ".fred" },
        new object[] { "3.2.5", "{.who,who}", ".fred.fred" },
        new object[] { "3.2.5", "{.half,who}", ".50%25.fred" },
        new object[] { "3.2.5", "www{.dom*}", "www.example.com" },
        new object[] { "3.2.5", "X{.var}", "X.value" },
        new object[] { "3.2.5", "X{.empty}", "X." },
        new object[] { "3.2.5", "X{.undef}", "X" },
        new object[] { "3.2.5", "X{.var:3}", "X.val" },
        new object[] { "3.2.5", "X{.list}", "X.red,green,blue" },
        new object[] { "3.2.5", "X{.list*}", "X.red.green.blue" },
        new object[] { "3.2.5", "X{.keys}", "X.semi,%3B,dot,.,comma,%2C" },
        new object[] { "3.2.5", "X{.keys*}", "X.semi=%3B.dot=..comma=%2C" },
        new object[] { "3.2.5", "X{.empty_keys}", "X" },
        new object[] { "3.2.5", "X{.empty_keys*}", "X" },

        new object[] { "3.2.6", "{/who}", "/fred" },
        new object[] { "3.2.6", "{/who,who}", "/fred/fred" },
        new object[] { "3.2.6", "{/half,who}", "/50%25/fred" },
        new object[] { "3.2.6", "{/who,dub}", "/fred/me%2Ftoo" },
        new object[] { "3.2.6", "{/var}", "/value" },
        new object[] { "3.2.6", "{/var,empty}", "/value/" },
        new object[] { "3.2.6", "{/var,undef}", "/value" },
        new object[] { "3.2.6", "{/var,x}/here", "/value/1024/here" },
        new object[] { "3.2.6", "{/var:1,var}", "/v/value" },
        new object[] { "3.2.6", "{/list}", "/red,green,blue" },
        new object[] { "3.2.6", "{/list*}", "/red/green/blue" },
        new object[] { "3.2.6", "{/list*,path:4}", "/red/green/blue/%2Ffoo" },
        new object[] { "3.2.6", "{/keys}", "/semi,%3B,dot,.,comma,%2C" },
        new object[] { "3.2.6", "{/keys*}", "/semi=%3B/dot=./comma=%2C" },

        new object[] { "3.2.7", "{;who}", ";who=fred" },
        new object[] { "3.2.7", "{;half}", ";half=50%25" },
        new object[] { "3.2.7", "{;empty}", ";empty" },
        new object[] { "3.2.7", "{;v,empty,who}", ";v=6;empty;who=fred" },
        new object[] { "3.2.7", "{;v,bar,who}", ";v=6;who=fred" },
        new object[] { "3.2.7", "{;x,y}", ";x=1024;y=768" },
        new object[] { "3.2.7", "{;x,y,empty}", ";x=1024;y=768;empty" },
        new object[] { "3.2.7", "{;x,y,undef}", ";x=1024;y=768" },
        new object[] { "3.2.7", "{;hello:5}", ";hello=Hello" },
        new object[] { "3.2.7", "{;list}", ";list=red,green,blue" },
        new object[] { "3.2.7", "{;list*}", ";list=red;list=green;list=blue" },
        new object[] { "3.2.7", "{;keys}", ";keys=semi,%3B,dot,.,comma,%2C" },
        new object[] { "3.2.7", "{;keys*}", ";semi=%3B;dot=.;comma=%2C" },

        new object[] { "3.2.8", "{?who}", "?who=fred" },
        new object[] { "3.2.8", "{?half}", "?half=50%25" },
        new object[] { "3.2.8", "{?x,y}", "?x=1024&y=768" },
        new object[] { "3.2.8", "{?x,y,empty}", "?x=1024&y=768&empty=" },
        new object[] { "3.2.8", "{?x,y,undef}", "?x=1024&y=768" },
        new object[] { "3.2.8", "{?var:3}", "?var=val" },
        new object[] { "3.2.8", "{?list}", "?list=red,green,blue" },
        new object[] { "3.2.8", "{?list*}", "?list=red&list=green&list=blue" },
        new object[] { "3.2.8", "{?keys}", "?keys=semi,%3B,dot,.,comma,%2C" },
        new object[] { "3.2.8", "{?keys*}", "?semi=%3B&dot=.&comma=%2C" },

        new object[] { "3.2.9", "{&who}", "&who=fred" },
        new object[] { "3.2.9", "{&half}", "&half=50%25" },
        new object[] { "3.2.9", "?fixed=yes{&x}", "?fixed=yes&x=1024" },
        new object[] { "3.2.9", "{&x,y,empty}", "&x=1024&y=768&empty=" },
        new object[] { "3.2.9", "{&x,y,undef}", "&x=1024&y=768" },
        new object[] { "3.2.9", "{&var:3}", "&var=val" },
        new object[] { "3.2.9", "{&list}", "&list=red,green,blue" },
        new object[] { "3.2.9", "{&list*}", "&list=red&list=green&list=blue" },
        new object[] { "3.2.9", "{&keys}", "&keys=semi,%3B,dot,.,comma,%2C" },
        new object[] { "3.2.9", "{&keys*}", "&semi=%3B&dot=.&comma=%2C" },
    ];

    // Templates at the size limits: each must still compile, well under UriTemplatePattern.MaxStates.
    private static readonly object[] s_largestTemplates =
    [
        new object[] { "16 expressions of 2 exploded query variables", string.Concat(Enumerable.Range(0, 16).Select(i => $"{{?{(char)('a' + i)}*,{(char)('A' + i)}*}}")) },
        new object[] { "32 exploded query variables in one expression", "{?" + string.Join(",", Enumerable.Range(0, 32).Select(i => $"v{i}*")) + "}" },
        new object[] { "32 exploded variables in one expression", "{" + string.Join(",", Enumerable.Range(0, 32).Select(i => $"v{i}*")) + "}" },
        new object[] { "32 query variables with names filling the limit", "{?" + string.Join(",", Enumerable.Range(0, 32).Select(i => $"n{i:D5}")) + "}" },
        new object[] { "two long query names", "{?" + new string('a', 126) + "," + new string('b', 126) + "}" },
        new object[] { "one long name", "{;" + new string('n', 253) + "}" },
        new object[] { "a long ASCII literal", new string('l', 253) + "{x}" },
        new object[] { "a long CJK literal", new string('\u4e16', 253) + "{x}" },
        new object[] { "a long astral literal", string.Concat(Enumerable.Repeat("\U0001F600", 126)) + "{x}" },
    ];

    [TestCaseSource(nameof(s_rfcExpansions))]
    public void Matches_RfcExpansion_Matches(string section, string template, string expansion)
    {
        // Arrange
        var selector = TopicSelector.Parse(template);

        // Act
        bool matches = selector.Matches(expansion);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Template), $"RFC 6570 §{section}: {template} is a template");
            Assert.That(matches, Is.True, $"RFC 6570 §{section}: {template} expands to {expansion}");
        });
    }

    [TestCaseSource(nameof(s_rfcExpansions))]
    public void Matches_RfcExpansionWithASpaceAdded_DoesNotMatch(string section, string template, string expansion)
    {
        // Arrange: a space is in no literal and no value (RFC 6570 §2.1, §3.2.1), so only a match that is not
        // anchored at both ends could take either string.
        var selector = TopicSelector.Parse(template);

        // Act
        bool before = selector.Matches(" " + expansion);
        bool after = selector.Matches(expansion + " ");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(before, Is.False, $"RFC 6570 §{section}: {template} against ' {expansion}'");
            Assert.That(after, Is.False, $"RFC 6570 §{section}: {template} against '{expansion} '");
        });
    }

    // The simple expression of Mercure's documentation: one path segment of unreserved characters and triplets.
    [TestCase("https://example.com/books/1", true)]
    [TestCase("https://example.com/books/the-hobbit_1937.~x", true)]
    [TestCase("https://example.com/books/a%2Fb", true, Description = "an encoded slash is part of a value")]
    [TestCase("https://example.com/books/a,b", true, Description = "a list value: ('a', 'b') expands to a,b")]
    [TestCase("https://example.com/books/", true, Description = "decided: an empty string is a defined value, and expands to nothing (RFC 6570 §3.2.2 O{empty}X, yosida95)")]
    [TestCase("https://example.com/books/1/reviews", false, Description = "a '/' is reserved, so it is never inside a simple value")]
    [TestCase("https://example.com/books/1/", false)]
    [TestCase("https://example.com/authors/1", false)]
    [TestCase("https://example.com/books", false)]
    [TestCase("https://example.com/books/a b", false)]
    [TestCase("https://example.com/books/1?x=1", false)]
    [TestCase("https://example.com/books/1#top", false)]
    [TestCase("https://example.com/books/%zz", false, Description = "a '%' only as a triplet")]
    [TestCase("https://example.com/books/caf\u00e9", false, Description = "a value's non-ASCII character is pct-encoded (§3.2.1)")]
    [TestCase("https://example.com/books/caf%C3%A9", true)]
    [TestCase("HTTPS://EXAMPLE.COM/BOOKS/1", false, Description = "literals compare exactly")]
    [TestCase("https://example.com/books/1\n", false, Description = "anchored at the very end, not before a final newline")]
    public void Matches_SimpleTemplate_MatchesOneSegment(string topic, bool expected)
    {
        // Arrange
        var selector = TopicSelector.Parse("https://example.com/books/{id}");

        // Act
        bool matches = selector.Matches(topic);

        // Assert
        Assert.That(matches, Is.EqualTo(expected), $"https://example.com/books/{{id}} against {topic}");
    }

    // Decisions at the edges, each with the reason it is so.
    [TestCase("{?x,y}", "", true, Description = "both undefined")]
    [TestCase("{?x,y}", "?x=1", true)]
    [TestCase("{?x,y}", "?y=2", true)]
    [TestCase("{?x,y}", "?x=1&y=2", true)]
    [TestCase("{?x,y}", "?x=&y=", true, Description = "§3.2.8: an empty value is written name=")]
    [TestCase("{?x,y}", "?y=2&x=1", false, Description = "variables expand in template order")]
    [TestCase("{?x,y}", "?z=1", false, Description = "names are checked (yosida95's regexp does not)")]
    [TestCase("{?x,y}", "?", false)]
    [TestCase("{?x,y}", "?x=1&", false)]
    [TestCase("{?x,y}", "?x", false, Description = "'?' writes name= for an empty value, never a bare name")]
    [TestCase("{?x*}", "?a=1&b=2", true, Description = "x may be a map: its keys are the names")]
    [TestCase("{;x}", ";x", true, Description = "§3.2.7: ';' writes a bare name for an empty string")]
    [TestCase("{;x}", ";x=", true, Description = "x := (\"\"), a list of one empty member")]
    [TestCase("{;x:3}", ";x=", false, Description = "a prefix makes x a string, and an empty one is ;x")]
    [TestCase("{var:3}", "value", true, Description = "decided: a prefix length is not enforced (see UriTemplatePattern)")]
    [TestCase("{var:3}", "a,b", false, Description = "a prefix applies to strings only (§2.4.1), so no list")]
    [TestCase("{x}/{x}", "a/b", true, Description = "decided: each occurrence of a variable matches on its own")]
    [TestCase("{x,y}", ",768", true, Description = "x := \"\" is defined, so its separator is written")]
    [TestCase("{x:2,y}", "768", true, Description = "x undefined, no separator")]
    [TestCase("{+path}/here", "/here", true, Description = "path undefined")]
    [TestCase("{#frag}", "#a/b?c=d", true, Description = "'#' allows reserved characters")]
    [TestCase("{#frag}", "#a b", false)]
    [TestCase("{/segments*}", "/a/b/c", true)]
    [TestCase("{/segments*}", "/a//c", true, Description = "a list with an empty member")]
    [TestCase("{/segments}", "/a/b", false, Description = "not exploded, a list is joined by ','")]
    [TestCase("https://example.com/caf\u00e9/{id}", "https://example.com/caf\u00e9/1", true, Description = "a non-ASCII literal is matched as written, as Mercure does")]
    [TestCase("https://example.com/caf\u00e9/{id}", "https://example.com/caf%C3%A9/1", false, Description = "decided: not in the pct-encoded form of RFC 6570 §3.1")]
    [TestCase("https://example.com/{id}", "https://example.com/{id}", true, Description = "a selector equal to the topic always matches")]
    [TestCase("{x.y}", "1", true, Description = "§2.3: a varname may have single dots inside")]
    [TestCase("{%41}", "1", true, Description = "§2.3: a varname may have pct-encoded characters")]
    [TestCase("{;%41}", ";%41=1", true, Description = "the name is written as it is in the template")]
    public void Matches_EdgeCase_AsDecided(string template, string topic, bool expected)
    {
        // Arrange
        var selector = TopicSelector.Parse(template);

        // Act
        bool matches = selector.Matches(topic);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Template), template);
            Assert.That(matches, Is.EqualTo(expected), $"{template} against '{topic}'");
        });
    }

    [TestCase("https://example.com/books/1")]
    [TestCase("urn:isbn:0451450523")]
    [TestCase("{")]
    [TestCase("*")]
    [TestCase("\u4e16\u754c")]
    public void Matches_AnySelector_MatchesEveryTopic(string topic)
    {
        // Arrange
        var selector = TopicSelector.Parse("*");

        // Act
        bool matches = selector.Matches(topic);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Any));
            Assert.That(matches, Is.True, topic);
        });
    }

    [TestCase("https://example.com/books/1", "https://example.com/books/1", true)]
    [TestCase("https://example.com/books/1", "https://example.com/books/2", false)]
    [TestCase("https://example.com/books/1", "https://example.com/Books/1", false)]
    [TestCase("https://example.com/books/1", "https://example.com/books/1/", false)]
    [TestCase("**", "anything", false)]
    [TestCase(" *", "anything", false)]
    public void Matches_ExactSelector_MatchesItsOwnTextOnly(string text, string topic, bool expected)
    {
        // Arrange
        var selector = TopicSelector.Parse(text);

        // Act
        bool matches = selector.Matches(topic);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Exact), text);
            Assert.That(matches, Is.EqualTo(expected), $"'{text}' against '{topic}'");
        });
    }

    // Not URI Templates, so exact topics; the second topic is what the text would match if it were read as a template.
    [TestCase("https://example.com/{", "https://example.com/", Description = "unclosed brace")]
    [TestCase("https://example.com/{id", "https://example.com/1")]
    [TestCase("https://example.com/id}", "https://example.com/id")]
    [TestCase("https://example.com/{{id}}", "https://example.com/1")]
    [TestCase("https://example.com/books", "https://example.com/books/1", Description = "no expression")]
    [TestCase("{}", "")]
    [TestCase("{+}", "")]
    [TestCase("{=x}", "1", Description = "§2.2 op-reserve")]
    [TestCase("{,x}", "1")]
    [TestCase("{!x}", "1")]
    [TestCase("{@x}", "1")]
    [TestCase("{|x}", "1")]
    [TestCase("{x,}", "1")]
    [TestCase("{x y}", "1")]
    [TestCase("{x-y}", "1")]
    [TestCase("{.x.}", "1")]
    [TestCase("{x..y}", "1")]
    [TestCase("{.x}{.y}{..z}", ".1")]
    [TestCase("{%4}", "1")]
    [TestCase("{%zz}", "1")]
    [TestCase("{x:0}", "1", Description = "§2.4.1 max-length = %x31-39 0*3DIGIT")]
    [TestCase("{x:01}", "1")]
    [TestCase("{x:10000}", "1")]
    [TestCase("{x:}", "1")]
    [TestCase("{x:3*}", "1", Description = "one modifier at most")]
    [TestCase("{x*:3}", "1")]
    [TestCase("{x**}", "1")]
    [TestCase("a b/{x}", "a b/1", Description = "§2.1: no space in a literal")]
    [TestCase("a\"b/{x}", "a\"b/1")]
    [TestCase("a'b/{x}", "a'b/1")]
    [TestCase("<{x}>", "<1>")]
    [TestCase("a\\b/{x}", "a\\b/1")]
    [TestCase("a^b/{x}", "a^b/1")]
    [TestCase("a`b/{x}", "a`b/1")]
    [TestCase("a|b/{x}", "a|b/1")]
    [TestCase("50%/{x}", "50%/1", Description = "a '%' only as a triplet")]
    [TestCase("50%2/{x}", "50%2/1")]
    [TestCase("\ud800/{x}", "\ud800/1", Description = "a lone surrogate is no character")]
    [TestCase("\ufdd0/{x}", "\ufdd0/1", Description = "a noncharacter is not ucschar")]
    public void Parse_InvalidTemplate_IsExactTopic(string text, string wouldMatch)
    {
        // Arrange
        var selector = TopicSelector.Parse(text);

        // Act
        bool matchesItself = selector.Matches(text);
        bool matchesOther = selector.Matches(wouldMatch);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Exact), text);
            Assert.That(selector.Text, Is.EqualTo(text));
            Assert.That(matchesItself, Is.True, $"'{text}' equals itself");
            Assert.That(matchesOther, Is.False, $"'{text}' against '{wouldMatch}'");
        });
    }

    [Test]
    public void Parse_MoreExpressionsThanTheLimit_IsExactTopic()
    {
        // Arrange
        string atLimit = string.Concat(Enumerable.Range(0, UriTemplatePattern.MaxExpressions).Select(i => $"{{v{i}}}"));
        string overLimit = atLimit + "{over}";

        // Act
        var accepted = TopicSelector.Parse(atLimit);
        var refused = TopicSelector.Parse(overLimit);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(accepted.Kind, Is.EqualTo(SelectorKind.Template), atLimit);
            Assert.That(refused.Kind, Is.EqualTo(SelectorKind.Exact), overLimit);
        });
    }

    [Test]
    public void Parse_MoreVariablesThanTheLimit_IsExactTopic()
    {
        // Arrange
        string atLimit = "{" + string.Join(",", Enumerable.Range(0, UriTemplatePattern.MaxVariables).Select(i => $"v{i}")) + "}";
        string overLimit = atLimit[..^1] + ",over}";

        // Act
        var accepted = TopicSelector.Parse(atLimit);
        var refused = TopicSelector.Parse(overLimit);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(accepted.Kind, Is.EqualTo(SelectorKind.Template), atLimit);
            Assert.That(refused.Kind, Is.EqualTo(SelectorKind.Exact), overLimit);
        });
    }

    [TestCaseSource(nameof(s_largestTemplates))]
    public void Parse_LargestTemplates_AreTemplates(string shape, string template)
    {
        // Arrange
        Assume.That(template, Has.Length.LessThanOrEqualTo(TopicSelector.MaxLength), shape);

        // Act
        var selector = TopicSelector.Parse(template);

        // Assert
        Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Template), $"{shape}: {template}");
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("a\u0000b")]
    [TestCase("a\nb")]
    [TestCase("a\u007fb")]
    [TestCase("a\u0085b")]
    public void IsValid_EmptyOrControlCharacters_False(string? text)
    {
        // Act
        bool valid = TopicSelector.IsValid(text);

        // Assert
        Assert.That(valid, Is.False);
    }

    [Test]
    public void IsValid_LengthLimit_ExactlyAtTheLimit()
    {
        // Arrange
        string atLimit = new('a', TopicSelector.MaxLength);

        // Act
        bool atLimitValid = TopicSelector.IsValid(atLimit);
        bool overLimitValid = TopicSelector.IsValid(atLimit + "a");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(atLimitValid, Is.True);
            Assert.That(overLimitValid, Is.False);
        });
    }

    [Test]
    public void Parse_InvalidText_Throws()
    {
        // Act / Assert
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => TopicSelector.Parse(""));
            Assert.Throws<ArgumentException>(() => TopicSelector.Parse("a\nb"));
            Assert.Throws<ArgumentException>(() => TopicSelector.Parse(new string('a', TopicSelector.MaxLength + 1)));
        });
    }

    [Test]
    public void Matches_HostileTemplatesAndTopics_NeverThrow()
    {
        // Arrange: half random strings over the characters templates are made of, half random valid templates.
        var random = new Random(HostileSeed);
        var texts = Enumerable.Range(0, HostileCount).Select(i => i % 2 == 0 ? RandomText(random) : RandomTemplate(random)).ToList();
        var topics = Enumerable.Range(0, HostileCount).Select(_ => RandomText(random)).ToList();
        int templates = 0, matched = 0;
        var slowest = TimeSpan.Zero;

        // Act
        Assert.DoesNotThrow(() =>
        {
            foreach (var text in texts)
            {
                var selector = TopicSelector.Parse(text);
                templates += selector.Kind == SelectorKind.Template ? 1 : 0;
                matched += selector.Matches(text) ? 1 : 0;
                foreach (var topic in topics)
                {
                    long started = Stopwatch.GetTimestamp();
                    selector.Matches(topic);
                    var elapsed = Stopwatch.GetElapsedTime(started);
                    slowest = elapsed > slowest ? elapsed : slowest;
                }
            }
        });

        // Assert: the time is reported, not asserted (a loaded machine would make any bound flaky).
        TestContext.Out.WriteLine($"{texts.Count} selectors ({templates} templates) each against {topics.Count} topics; " +
            $"slowest match {slowest.TotalMilliseconds:F2} ms");
        Assert.Multiple(() =>
        {
            Assert.That(templates, Is.GreaterThanOrEqualTo(HostileCount / 2), "every generated template is one");
            Assert.That(matched, Is.EqualTo(texts.Count), "every selector matches its own text");
        });
    }

    [Test]
    public void Matches_RandomExpansions_MatchTheirTemplate()
    {
        // Arrange: random templates, and for each random values (undefined, strings, lists, maps, with reserved,
        // pct-encoded and non-ASCII characters) expanded by RFC 6570 Appendix A's algorithm.
        var random = new Random(ExpansionSeed);
        var misses = new List<string>();
        int checkedCount = 0;

        // Act
        for (int t = 0; t < ExpansionTemplates; t++)
        {
            string template = RandomTemplate(random);
            var selector = TopicSelector.Parse(template);
            for (int a = 0; a < AssignmentsPerTemplate; a++)
            {
                string expansion = Expand(template, name => RandomValue(random, prefixed: template.Contains(name + ":", StringComparison.Ordinal)));
                checkedCount++;
                if (!selector.Matches(expansion))
                {
                    misses.Add($"{template} -> {expansion}");
                }
            }
        }

        // Assert
        TestContext.Out.WriteLine($"{checkedCount} expansions of {ExpansionTemplates} random templates");
        Assert.That(misses, Is.Empty, string.Join("\n", misses.Take(10)));
    }

    [Test]
    public void Matches_SixteenAdjacentExpressionsAgainstLongMiss_False()
    {
        // Arrange: the shape that is exponential for a backtracking engine (every split of the topic between the
        // sixteen values is tried before the final '/' fails them all).
        string template = string.Concat(Enumerable.Range(0, UriTemplatePattern.MaxExpressions).Select(i => $"{{{(char)('a' + i)}}}"));
        var selector = TopicSelector.Parse(template);
        string topic = new string('a', TopicSelector.MaxLength - 1) + "/";

        // Act
        bool matches = selector.Matches(topic);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(selector.Kind, Is.EqualTo(SelectorKind.Template), template);
            Assert.That(matches, Is.False);
            Assert.That(selector.Matches(topic[..^1]), Is.True, "without the '/' it matches");
        });
    }

    [Test]
    public void Parse_HundredDistinctTemplates_AllocationPerTemplateMeasured()
    {
        // Arrange: one compile first, so what is measured is the templates and not the engine's first use.
        TopicSelector.Parse("https://example.com/warm-up/{id}").Matches("https://example.com/warm-up/1");
        var texts = Enumerable.Range(0, 100).Select(i => $"https://example.com/shelf-{i}/books/{{id}}{{?page,sort}}").ToList();
        var selectors = new List<TopicSelector>(texts.Count);
        long heapBefore = Heap.SettledBytes();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        // Act
        foreach (var text in texts)
        {
            selectors.Add(TopicSelector.Parse(text));
        }

        long allocatedAfter = GC.GetAllocatedBytesForCurrentThread();
        long heapAfter = Heap.SettledBytes();
        GC.KeepAlive(selectors);

        // Assert
        long allocatedPerTemplate = (allocatedAfter - allocatedBefore) / texts.Count;
        long keptPerTemplate = (heapAfter - heapBefore) / texts.Count;
        TestContext.Out.WriteLine($"compiling {texts.Count} templates like {texts[0]}: {allocatedPerTemplate:N0} bytes allocated and " +
            $"{keptPerTemplate:N0} bytes kept per template");
        Assert.Multiple(() =>
        {
            Assert.That(selectors.All(s => s.Kind == SelectorKind.Template), Is.True, "each is a template");
            Assert.That(allocatedPerTemplate, Is.LessThan(MaxAllocatedBytesPerTemplate), "bytes allocated compiling one template");
        });
    }

    [Test]
    public void Parse_HostileLiteralTemplate_AllocationStaysBounded()
    {
        // Arrange: many distinct literal characters, the case that made the NonBacktracking regex over raw
        // characters allocate 159 MB and take 280 ms for one template.
        TopicSelector.Parse("https://example.com/warm-up/{id}");
        var texts = Enumerable.Range(0, 10)
            .Select(i => new string(Enumerable.Range(0, 240).Select(c => (char)(0x4e00 + (i * 240) + c)).ToArray()) + "{x}")
            .ToList();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        // Act
        var selectors = texts.Select(TopicSelector.Parse).ToList();
        bool matched = selectors[0].Matches(texts[0][..^3] + "v");

        // Assert
        long allocatedPerTemplate = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / texts.Count;
        TestContext.Out.WriteLine($"compiling a template of 240 distinct CJK literals and one expression: {allocatedPerTemplate:N0} bytes allocated");
        Assert.Multiple(() =>
        {
            Assert.That(selectors.All(s => s.Kind == SelectorKind.Template), Is.True, "each is a template");
            Assert.That(matched, Is.True, "the literal and a value");
            Assert.That(allocatedPerTemplate, Is.LessThan(MaxAllocatedBytesPerTemplate * 2), "bytes allocated compiling one template");
        });
    }

    [Test]
    public void Parse_ThousandDistinctTemplates_KeepUnderEightKiBEach()
    {
        // Arrange: the texts exist first, so what is measured is what a selector adds to its text; one compile and
        // match first, so it is not the code's first use either.
        TopicSelector.Parse("https://example.com/warm-up/{+rest}").Matches("https://example.com/warm-up/1");
        var texts = Enumerable.Range(0, 1000).Select(i => $"https://example.com/users/{i}/{{+rest}}").ToList();
        var topics = texts.Select((_, i) => $"https://example.com/users/{i}/books/{i}?page=2").ToList();
        var selectors = new List<TopicSelector>(texts.Count);
        long heapBefore = Heap.SettledBytes();

        // Act: compile, then match, which must not make a selector grow (a NonBacktracking regex did).
        foreach (var text in texts)
        {
            selectors.Add(TopicSelector.Parse(text));
        }

        long heapCompiled = Heap.SettledBytes();
        int matched = 0;
        for (int i = 0; i < selectors.Count; i++)
        {
            matched += selectors[i].Matches(topics[i]) ? 1 : 0;
            matched += selectors[i].Matches(topics[(i + 1) % topics.Count]) ? 1 : 0;
        }

        long heapMatched = Heap.SettledBytes();
        GC.KeepAlive(selectors);

        // Assert
        long keptPerTemplate = (heapCompiled - heapBefore) / texts.Count;
        long grownPerTemplate = (heapMatched - heapCompiled) / texts.Count;
        TestContext.Out.WriteLine($"{texts.Count} selectors like {texts[0]}: {keptPerTemplate:N0} bytes kept per selector, " +
            $"{grownPerTemplate:N0} more after {2 * texts.Count} matches");
        Assert.Multiple(() =>
        {
            Assert.That(selectors.All(s => s.Kind == SelectorKind.Template), Is.True, "each is a template");
            Assert.That(matched, Is.EqualTo(texts.Count), "each matches its own user's topics only");
            Assert.That(keptPerTemplate, Is.LessThan(MaxKeptBytesPerTemplate), "bytes kept per compiled selector");
            // Measured: 0. The bound leaves room for whatever else the process keeps meanwhile; a regex grew by 0.1 MB.
            Assert.That(grownPerTemplate, Is.LessThan(1024), "bytes a selector grows by matching");
        });
    }

    [Test]
    public void Parse_LargestTemplates_KeepUnderEightKiBEach()
    {
        // Arrange: a hundred selectors of each of the largest shapes.
        TopicSelector.Parse("https://example.com/warm-up/{+rest}");
        var texts = s_largestTemplates.Cast<object[]>().Select(shape => (string)shape[1]).ToList();
        var selectors = new List<TopicSelector>(100 * texts.Count);
        var keptPerTemplate = new List<long>(texts.Count);

        // Act
        foreach (var text in texts)
        {
            long heapBefore = Heap.SettledBytes();
            for (int n = 0; n < 100; n++)
            {
                selectors.Add(TopicSelector.Parse(text));
            }

            keptPerTemplate.Add((Heap.SettledBytes() - heapBefore) / 100);
        }

        GC.KeepAlive(selectors);

        // Assert
        for (int t = 0; t < texts.Count; t++)
        {
            TestContext.Out.WriteLine($"{keptPerTemplate[t],6:N0} bytes kept: {texts[t]}");
        }

        Assert.That(keptPerTemplate.Max(), Is.LessThan(MaxKeptBytesPerTemplate), "bytes kept by the largest compiled selector");
    }

    [Test]
    public void Matches_AfterWarmUp_AllocatesNothing()
    {
        // Arrange: templates of every operator and the largest shapes; topics that match, miss, and hold triplets.
        var selectors = s_largestTemplates.Cast<object[]>().Select(shape => (string)shape[1])
            .Concat(["https://example.com/users/123/{+rest}", "https://example.com/books/{id}{?page,sort}", "{/path*}{;p,q}{#f}", "X{.keys*}{&k*}"])
            .Select(TopicSelector.Parse)
            .ToArray();
        string[] topics =
        [
            "https://example.com/users/123/books/1?page=2", "https://example.com/books/1?page=2&sort=asc", "https://example.com/books/caf%C3%A9",
            "/a/b%2F;p=1;q#frag", "X.semi=%3B.dot=.&a=1&b=", "?a=1&A=2&b=%20", new string('a', TopicSelector.MaxLength), "nothing at all",
        ];
        int matched = MatchAll(selectors, topics);

        // Act
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int matchedMeasured = MatchAll(selectors, topics);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        // Assert
        TestContext.Out.WriteLine($"{MatchesMeasured:N0} matches over {selectors.Length} selectors ({matchedMeasured:N0} true): {allocated:N0} bytes allocated");
        Assert.Multiple(() =>
        {
            Assert.That(matchedMeasured, Is.EqualTo(matched).And.GreaterThan(0), "the same matches as the warm-up");
            Assert.That(allocated, Is.Zero, "bytes allocated by matching");
        });

        static int MatchAll(TopicSelector[] selectors, string[] topics)
        {
            int matched = 0;
            for (int n = 0; n < MatchesMeasured; n++)
            {
                matched += selectors[n % selectors.Length].Matches(topics[(n / selectors.Length) % topics.Length]) ? 1 : 0;
            }

            return matched;
        }
    }

    [Test]
    public void Matches_ManyThreadsOnOneSelector_AgreeWithOneThread()
    {
        // Arrange: the publisher's claim check calls Matches outside the hub's lock, so one selector is shared.
        var selector = TopicSelector.Parse("https://example.com/{shelf}/books/{id}{?page,sort}{#frag}");
        var random = new Random(HostileSeed);
        var topics = Enumerable.Range(0, 500)
            .Select(i => i % 2 == 0
                ? $"https://example.com/s{i}/books/{i}?page={i}" + (i % 3 == 0 ? "#x" : "")
                : RandomText(random))
            .ToArray();
        bool[] expected = topics.Select(selector.Matches).ToArray();
        int disagreements = 0;

        // Act
        var threads = Enumerable.Range(0, ConcurrentThreads).Select(t => new Thread(() =>
        {
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < topics.Length; i++)
                {
                    int k = (i + (t * 97)) % topics.Length;
                    if (selector.Matches(topics[k]) != expected[k])
                    {
                        Interlocked.Increment(ref disagreements);
                    }
                }
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        bool joined = threads.All(thread => thread.Join(TimeSpan.FromSeconds(30)));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(joined, Is.True, "every thread finished within 30 s");
            Assert.That(expected.Count(m => m), Is.GreaterThanOrEqualTo(topics.Length / 2), "the expansions match");
            Assert.That(disagreements, Is.Zero, "matches that differ from the single-threaded result");
        });
    }

    [TestCaseSource(nameof(s_largestTemplates))]
    public void IsMatch_LargestTemplatesAgainstLongTopics_StepsBoundedByStatesTimesLength(string shape, string template)
    {
        // Arrange: expansions of the template, which keep many states live to the end, and random text. The bound
        // is the simulation's: each state enters a position's set once and is moved on from it once.
        Assume.That(UriTemplatePattern.TryCompile(template, out var pattern), Is.True, shape);
        var random = new Random(ExpansionSeed);
        var topics = Enumerable.Range(0, 20).Select(_ => Expand(template, _ => RandomValue(random, prefixed: false)))
            .Concat(Enumerable.Range(0, 20).Select(_ => RandomText(random)))
            .Append(new string('a', TopicSelector.MaxLength))
            .ToList();
        int mostSteps = 0;
        var over = new List<string>();

        // Act
        foreach (var topic in topics)
        {
            pattern!.IsMatch(topic, out int steps);
            mostSteps = Math.Max(mostSteps, steps);
            if (steps > 2 * pattern.StateCount * (topic.Length + 1))
            {
                over.Add($"{steps} steps for {topic.Length} characters");
            }
        }

        // Assert
        TestContext.Out.WriteLine($"{shape}: {pattern!.StateCount} states, at most {mostSteps:N0} steps for a topic");
        Assert.Multiple(() =>
        {
            Assert.That(pattern.StateCount, Is.LessThan(UriTemplatePattern.MaxStates / 4), $"{shape}: states");
            Assert.That(over, Is.Empty, $"{shape}: over 2 x states x (length + 1)");
        });
    }

    [Test]
    public void IsMatch_SixteenAdjacentExpressionsAgainstLongMiss_StepsLinearInLength()
    {
        // Arrange: the shape that is exponential for a backtracking engine; here every state may be live at every
        // position, so the steps grow with the length and never with the splits of the topic.
        string template = string.Concat(Enumerable.Range(0, UriTemplatePattern.MaxExpressions).Select(i => $"{{{(char)('a' + i)}}}"));
        Assume.That(UriTemplatePattern.TryCompile(template, out var pattern), Is.True, template);
        string shortMiss = new string('a', 63) + "/", longMiss = new string('a', TopicSelector.MaxLength - 1) + "/";

        // Act
        bool shortMatches = pattern!.IsMatch(shortMiss, out int shortSteps);
        bool longMatches = pattern.IsMatch(longMiss, out int longSteps);

        // Assert
        TestContext.Out.WriteLine($"{template}: {pattern.StateCount} states; {shortSteps:N0} steps for {shortMiss.Length} characters, " +
            $"{longSteps:N0} for {longMiss.Length}");
        Assert.Multiple(() =>
        {
            Assert.That(shortMatches || longMatches, Is.False);
            Assert.That(longSteps, Is.LessThanOrEqualTo(2 * pattern.StateCount * (longMiss.Length + 1)), "the simulation's bound");
            Assert.That(longSteps, Is.LessThanOrEqualTo(5 * shortSteps), "four times the length, about four times the steps");
        });
    }

    // RFC 6570 Appendix A, with literals copied as written (the decision for non-ASCII literals, see
    // UriTemplatePattern). A value is a string, a string[] list or a (key, value)[] map; null is undefined.
    private static string Expand(string template, Func<string, object?> valueOf)
    {
        var result = new StringBuilder();
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf('{', i);
            if (open < 0)
            {
                result.Append(template, i, template.Length - i);
                break;
            }

            result.Append(template, i, open - i);
            int close = template.IndexOf('}', open);
            string body = template[(open + 1)..close];
            i = close + 1;
            char op = "+#./;?&".Contains(body[0], StringComparison.Ordinal) ? body[0] : '\0';
            (string first, string sep, bool named, string ifEmpty, bool reserved) = op switch
            {
                '+' => ("", ",", false, "", true),
                '#' => ("#", ",", false, "", true),
                '.' => (".", ".", false, "", false),
                '/' => ("/", "/", false, "", false),
                ';' => (";", ";", true, "", false),
                '?' => ("?", "&", true, "=", false),
                '&' => ("&", "&", true, "=", false),
                _ => ("", ",", false, "", false),
            };
            bool isFirst = true;
            foreach (string spec in (op == '\0' ? body : body[1..]).Split(','))
            {
                bool explode = spec.EndsWith('*');
                int colon = spec.IndexOf(':', StringComparison.Ordinal);
                string name = explode ? spec[..^1] : colon >= 0 ? spec[..colon] : spec;
                int prefix = colon >= 0 ? int.Parse(spec[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture) : 0;
                object? value = valueOf(name);
                if (value is null or string[] { Length: 0 } or (string, string)[] { Length: 0 })
                {
                    continue; // §2.3: undefined, and an empty list or map is undefined
                }

                result.Append(isFirst ? first : sep);
                isFirst = false;
                string Enc(string text) => Encode(text, reserved);
                switch (value)
                {
                    case string text:
                        if (named)
                        {
                            result.Append(name).Append(text.Length == 0 ? ifEmpty : "=");
                        }

                        result.Append(Enc(prefix > 0 ? Prefix(text, prefix) : text));
                        break;
                    case string[] list when !explode:
                        result.Append(named ? name + "=" : "").Append(string.Join(",", list.Select(Enc)));
                        break;
                    case (string Key, string Value)[] map when !explode:
                        result.Append(named ? name + "=" : "").Append(string.Join(",", map.Select(p => Enc(p.Key) + "," + Enc(p.Value))));
                        break;
                    case string[] list:
                        result.Append(string.Join(sep, list.Select(m => named ? name + (m.Length == 0 ? ifEmpty : "=" + Enc(m)) : Enc(m))));
                        break;
                    case (string Key, string Value)[] map:
                        result.Append(string.Join(sep, map.Select(p => Enc(p.Key) + (named && p.Value.Length == 0 ? ifEmpty : "=" + Enc(p.Value)))));
                        break;
                }
            }
        }

        return result.ToString();
    }

    // §3.2.1: unreserved characters stay, and for "+" and "#" reserved characters and pct-encoded triplets too;
    // everything else is pct-encoded UTF-8.
    private static string Encode(string text, bool reserved)
    {
        const string Unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        const string Reserved = ":/?#[]@!$&'()*+,;=";
        var encoded = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (Unreserved.Contains(c, StringComparison.Ordinal) || (reserved && Reserved.Contains(c, StringComparison.Ordinal)))
            {
                encoded.Append(c);
            }
            else if (reserved && c == '%' && i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]))
            {
                encoded.Append(text, i, 3);
                i += 2;
            }
            else
            {
                int units = char.IsSurrogatePair(text, i) ? 2 : 1;
                foreach (byte b in Encoding.UTF8.GetBytes(text.Substring(i, units)))
                {
                    encoded.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }

                i += units - 1;
            }
        }

        return encoded.ToString();
    }

    // §2.4.1: the first max-length characters (code points) of the value, before it is encoded.
    private static string Prefix(string text, int length)
    {
        var runes = text.EnumerateRunes().Take(length);
        return string.Concat(runes.Select(r => r.ToString()));
    }

    private static object? RandomValue(Random random, bool prefixed)
    {
        string[] pieces = ["", "a", "Z9", "-._~", "%", "%2F", "%zz", "/", "?", "#", "&", "=", ",", ";", ":", "!$'()*+", "[]@", " ", "\u00e9", "\u4e16", "\U0001F600"];
        string RandomString() => string.Concat(Enumerable.Range(0, random.Next(0, 4)).Select(_ => pieces[random.Next(pieces.Length)]));
        // §2.4.1: "Prefix modifiers are not applicable to variables that have composite values."
        int kind = prefixed ? random.Next(2) : random.Next(4);
        return kind switch
        {
            0 => null,
            1 => RandomString(),
            2 => Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomString()).ToArray(),
            _ => Enumerable.Range(0, random.Next(0, 4)).Select(_ => (RandomString(), RandomString())).ToArray(),
        };
    }

    private static string RandomText(Random random)
    {
        int length = random.Next(1, TopicSelector.MaxLength + 1);
        var text = new StringBuilder(length);
        while (text.Length < length)
        {
            int pick = random.Next(20);
            if (pick == 0 && text.Length + 2 <= length)
            {
                text.Append("\U0001F600");
            }
            else if (pick == 1)
            {
                text.Append((char)random.Next(0xA0, 0xFFFF));
            }
            else
            {
                text.Append(TemplateCharacters[random.Next(TemplateCharacters.Length)]);
            }
        }

        string result = text.ToString();
        // A random BMP character may be half a surrogate pair or a C1 control; those are not selectors at all.
        return TopicSelector.IsValid(result) ? result : "fallback{x}";
    }

    private static string RandomTemplate(Random random)
    {
        const string Operators = "\0+#./;?&";
        const string NameCharacters = "abcxyz_019";
        string[] literals = ["", "https://ex.com/", "a-b_c~d.e", ":%20", "/x/", "caf\u00e9", "?q=1"];
        var text = new StringBuilder();
        // At most two variables an expression, so the variable limit is never reached.
        int expressions = random.Next(1, UriTemplatePattern.MaxExpressions + 1);
        for (int e = 0; e < expressions; e++)
        {
            text.Append(literals[random.Next(literals.Length)]).Append('{');
            char op = Operators[random.Next(Operators.Length)];
            if (op != '\0')
            {
                text.Append(op);
            }

            int variables = random.Next(1, 3);
            for (int v = 0; v < variables; v++)
            {
                text.Append(v > 0 ? "," : "");
                text.Append(NameCharacters[random.Next(NameCharacters.Length)]);
                text.Append(NameCharacters[random.Next(NameCharacters.Length)]);
                text.Append(random.Next(3) switch { 0 => "*", 1 => $":{random.Next(1, 10000)}", _ => "" });
            }

            text.Append('}');
        }

        // Cut at an expression's start, so what is left is whole expressions.
        string result = text.ToString();
        return result.Length <= TopicSelector.MaxLength ? result : result[..result.LastIndexOf('{', TopicSelector.MaxLength - 1)];
    }
}
