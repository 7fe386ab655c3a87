using System.Buffers.Text;
using System.Text;

namespace RawSse.Store;

/// <summary>
/// Where an event goes in the stream. A topic can hold any character a subject cannot (<c>.</c>, <c>*</c>, <c>&gt;</c>,
/// spaces), so a one-topic event goes to <c>STREAM.t.&lt;base64url of the topic's UTF-8&gt;</c>, one subject per
/// topic: JetStream's per-subject limit is then the per-topic count, and a read of a topic filters on its subject. An
/// event on several topics goes to <c>STREAM.m</c> (a message has one subject) and is read by every topic read, which
/// picks its own from the event's topics.
/// </summary>
internal sealed class NatsSubjects(string stream)
{
    public string All { get; } = stream + ".>";

    public string Multi { get; } = stream + ".m";

    public string Of(IReadOnlyList<string> topics) => topics.Count == 1 ? Topic(topics[0]) : Multi;

    public string Topic(string topic) => $"{stream}.t.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(topic))}";
}
