namespace RawSse.Store;

/// <summary>
/// The <c>--store nats://HOST:PORT[/STREAM]</c> option: the NATS server, and the JetStream stream every node shares
/// (<see cref="DefaultStream"/> when none is named). A stream name is 1 to 64 characters of <c>[A-Za-z0-9_-]</c>; it
/// is also the first token of the stream's subjects.
/// </summary>
public sealed record NatsStoreAddress(string Url, string Stream)
{
    public const string Scheme = "nats://";
    public const string DefaultStream = "rawsse";
    private const int MaxStreamLength = 64;

    public static bool TryParse(string? spec, out NatsStoreAddress address)
    {
        address = null!;
        if (spec is null || !spec.StartsWith(Scheme, StringComparison.Ordinal)
            || !Uri.TryCreate(spec, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return false;
        }

        string path = uri.AbsolutePath.Trim('/');
        string stream = path.Length == 0 ? DefaultStream : path;
        if (!IsStreamName(stream))
        {
            return false;
        }

        int port = uri.IsDefaultPort || uri.Port < 0 ? 4222 : uri.Port;
        address = new NatsStoreAddress($"nats://{uri.Host}:{port}", stream);
        return true;
    }

    public static bool IsStreamName(string name) =>
        name.Length is > 0 and <= MaxStreamLength && name.AsSpan().IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") < 0;
}
