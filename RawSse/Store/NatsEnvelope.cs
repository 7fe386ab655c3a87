using System.Buffers;
using System.Text.Json;
using RawSse.Sse;

namespace RawSse.Store;

/// <summary>
/// An event as a JetStream message's payload: a small JSON object, <c>{"t":[topics],"d":data,"i":id,"e":type,"r":retry,"p":true}</c>,
/// the optional members left out. The position and time are the message's own (its stream sequence and timestamp).
/// </summary>
internal static class NatsEnvelope
{
    public static byte[] Encode(NewEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(e.Event.Data.Length + 64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("t"u8);
            foreach (var topic in e.Topics)
            {
                json.WriteStringValue(topic);
            }

            json.WriteEndArray();
            json.WriteString("d"u8, e.Event.Data);
            if (e.Event.Id is { } id)
            {
                json.WriteString("i"u8, id);
            }

            if (e.Event.Type is { } type)
            {
                json.WriteString("e"u8, type);
            }

            if (e.Event.Retry is { } retry)
            {
                json.WriteNumber("r"u8, retry);
            }

            if (e.IsPrivate)
            {
                json.WriteBoolean("p"u8, true);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The event in <paramref name="payload"/>, or null when it is not one of ours (a foreign publisher on the stream's subjects).</summary>
    public static LoggedEvent? Decode(ReadOnlySpan<byte> payload, long sequence, DateTimeOffset time)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            List<string>? topics = null;
            string? data = null, id = null, type = null;
            int? retry = null;
            bool isPrivate = false;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string? name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "t": topics = ReadTopics(ref reader); break;
                    case "d": data = reader.GetString(); break;
                    case "i": id = reader.GetString(); break;
                    case "e": type = reader.GetString(); break;
                    case "r": retry = reader.GetInt32(); break;
                    case "p": isPrivate = reader.GetBoolean(); break;
                    default: reader.Skip(); break;
                }
            }

            // Checked as a publish is: whoever else can write to the stream's subjects must not forge an event.
            if (topics is not { Count: > 0 } || data is null || !SseEvent.IsValidField(id) || !SseEvent.IsValidField(type) || type == Hub.ResetType || retry < 0)
            {
                return null;
            }

            return new LoggedEvent(sequence, topics, new SseEvent(data, type, id, retry), isPrivate, time);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static List<string>? ReadTopics(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }

        var topics = new List<string>(1);
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            string topic = reader.GetString()!;
            if (!Hub.IsValidTopic(topic) || topics.Count == Hub.MaxTopicsPerEvent)
            {
                return null;
            }

            topics.Add(topic);
        }

        return reader.TokenType == JsonTokenType.EndArray ? topics : null;
    }
}
