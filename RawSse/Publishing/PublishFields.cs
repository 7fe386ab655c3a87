using System.Text.Unicode;
using RawSse.Http;
using RawSse.Sse;

namespace RawSse.Publishing;

/// <summary>
/// A publish body's fields, read in one pass over the body where it lies, by <see cref="FormParser"/>'s rules: names
/// decoded only when escaped, the small values (<c>topic</c>, <c>id</c>, <c>type</c>, <c>retry</c>) decoded to
/// strings, and <c>data</c> left encoded, to be decoded once, straight into its frame
/// (<see cref="SseFrames.EncodeFormData"/>). A repeated field but <c>topic</c> keeps its last value; every name and
/// value must be UTF-8 once decoded (<c>data</c>'s is checked as it is framed).
/// </summary>
internal ref struct PublishFields
{
    private const int MaxKnownNameBytes = 16;

    private string? _firstTopic;
    private List<string>? _moreTopics;

    public int TopicCount { get; private set; }
    public ReadOnlySpan<byte> Data { get; private set; }
    public string? Id { get; private set; }
    public string? Type { get; private set; }
    public string? RetryText { get; private set; }
    public bool IsPrivate { get; private set; }

    /// <summary>Every <c>topic</c> field, in order.</summary>
    public readonly IReadOnlyList<string> Topics =>
        _moreTopics is not null ? _moreTopics : _firstTopic is not null ? [_firstTopic] : [];

    /// <summary>Reads <paramref name="body"/>. False, with the problem, when a name or a value is not UTF-8 once decoded.</summary>
    public bool TryRead(ReadOnlySpan<byte> body, out string? problem)
    {
        problem = null;
        bool hasData = false;
        int field = 0;
        Span<byte> decodedName = stackalloc byte[MaxKnownNameBytes];
        foreach (var range in body.Split((byte)'&'))
        {
            var pair = body[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            field++;
            int eq = pair.IndexOf((byte)'=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? [] : pair[(eq + 1)..];
            var known = KnownName(name, decodedName);
            if (known is Name.NotUtf8)
            {
                problem = $"field {field}: its name is not UTF-8 once decoded";
                return false;
            }

            if (known is Name.Data)
            {
                // An earlier data field is replaced, but its value had to be UTF-8 too.
                if (hasData && !IsUtf8OnceDecoded(Data))
                {
                    problem = "field 'data': its value is not UTF-8 once decoded";
                    return false;
                }

                Data = value;
                hasData = true;
                continue;
            }

            if (known is Name.Other or Name.Private)
            {
                IsPrivate |= known is Name.Private; // Mercure: present at all, whatever its value ("on" is recommended)
                if (!IsUtf8OnceDecoded(value))
                {
                    problem = $"field {field}: its value is not UTF-8 once decoded";
                    return false;
                }

                continue;
            }

            if (!FormParser.TryDecode(value, out var decoded))
            {
                problem = $"field '{NameOf(known)}': its value is not UTF-8 once decoded";
                return false;
            }

            switch (known)
            {
                case Name.Topic:
                    AddTopic(decoded);
                    break;
                case Name.Id:
                    Id = decoded.Length == 0 ? null : decoded;
                    break;
                case Name.Type:
                    Type = decoded.Length == 0 ? null : decoded;
                    break;
                case Name.Retry:
                    RetryText = decoded;
                    break;
            }
        }

        return true;
    }

    private void AddTopic(string topic)
    {
        if (_firstTopic is null)
        {
            _firstTopic = topic;
        }
        else
        {
            (_moreTopics ??= [_firstTopic]).Add(topic);
        }

        TopicCount++;
    }

    private enum Name
    {
        Other,
        NotUtf8,
        Topic,
        Data,
        Id,
        Type,
        Retry,
        Private,
    }

    private static string NameOf(Name name) => name.ToString().ToLowerInvariant();

    // Which field a name is: compared as it came when it has no escapes, else once decoded (a long one is no known name,
    // but must still be UTF-8).
    private static Name KnownName(ReadOnlySpan<byte> name, Span<byte> scratch)
    {
        if (name.IndexOfAny((byte)'%', (byte)'+') >= 0)
        {
            if (name.Length > scratch.Length)
            {
                return IsUtf8OnceDecoded(name) ? Name.Other : Name.NotUtf8;
            }

            int length = FormParser.DecodeInto(name, scratch);
            name = scratch[..length];
        }

        return name switch
        {
            _ when name.SequenceEqual("topic"u8) => Name.Topic,
            _ when name.SequenceEqual("data"u8) => Name.Data,
            _ when name.SequenceEqual("id"u8) => Name.Id,
            _ when name.SequenceEqual("type"u8) => Name.Type,
            _ when name.SequenceEqual("retry"u8) => Name.Retry,
            _ when name.SequenceEqual("private"u8) => Name.Private,
            _ => Utf8.IsValid(name) ? Name.Other : Name.NotUtf8,
        };
    }

    private static bool IsUtf8OnceDecoded(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IndexOfAny((byte)'%', (byte)'+') < 0)
        {
            return Utf8.IsValid(encoded);
        }

        var decoded = new byte[encoded.Length];
        return Utf8.IsValid(decoded.AsSpan(0, FormParser.DecodeInto(encoded, decoded)));
    }
}
