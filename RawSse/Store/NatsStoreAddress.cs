namespace RawSse.Store;

/// <summary>
/// The <c>--store nats://[USER:PASSWORD@|TOKEN@]HOST:PORT[/STREAM]</c> option: the NATS server, its credentials if it
/// asks for them (percent-encoded; better given through <c>RAWSSE_STORE</c> than on a command line others can read),
/// and the JetStream stream every node shares (<see cref="DefaultStream"/> when none is named). A stream name is 1 to
/// 64 characters of <c>[A-Za-z0-9_-]</c>; it is also the first token of the stream's subjects.
/// </summary>
public sealed record NatsStoreAddress(string Url, string Stream, string? User = null, string? Password = null, string? Token = null)
{
    public const string Scheme = "nats://";
    public const string DefaultStream = "rawsse";
    private const int MaxStreamLength = 64;

    public static bool TryParse(string? spec, out NatsStoreAddress address)
    {
        address = null!;
        if (spec is null || !spec.StartsWith(Scheme, StringComparison.Ordinal)
            || !Uri.TryCreate(spec, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return false;
        }

        string path = uri.AbsolutePath.Trim('/');
        string stream = path.Length == 0 ? DefaultStream : path;
        if (!IsStreamName(stream))
        {
            return false;
        }

        string? user = null, password = null, token = null;
        if (uri.UserInfo.Length > 0)
        {
            int colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                token = Uri.UnescapeDataString(uri.UserInfo);
            }
            else
            {
                user = Uri.UnescapeDataString(uri.UserInfo[..colon]);
                password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        int port = uri.IsDefaultPort || uri.Port < 0 ? 4222 : uri.Port;
        address = new NatsStoreAddress($"nats://{uri.Host}:{port}", stream, user, password, token);
        return true;
    }

    /// <summary>The server and stream, never the credentials (for log lines).</summary>
    public override string ToString() => $"{Url}/{Stream}";

    public static bool IsStreamName(string name) =>
        name.Length is > 0 and <= MaxStreamLength && name.AsSpan().IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") < 0;
}
