namespace RawSse.Http;

/// <summary>
/// Which <c>Host</c> a request may name. A server bound to loopback answers only to loopback names, so a page whose
/// own name a rebinding DNS server points at 127.0.0.1 cannot reach it (the browser still sends the page's name); names
/// in <c>--allowed-hosts</c> are added, with any port. A server bound elsewhere checks only when names are listed.
/// A request without a Host (HTTP/1.0) is not from a browser and passes.
/// </summary>
internal sealed class HostPolicy
{
    private static readonly string[] s_loopbackNames = ["localhost", "127.0.0.1", "[::1]"];
    private readonly HashSet<string> _allowed = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly bool _checks;

    public HostPolicy(bool loopbackOnly, IEnumerable<string> allowedHosts)
    {
        _allowed.UnionWith(allowedHosts);
        _checks = loopbackOnly || _allowed.Count > 0;
        if (loopbackOnly)
        {
            _allowed.UnionWith(s_loopbackNames);
        }

        _lookup = _allowed.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool Allows(string? host) => !_checks || host is null || _lookup.Contains(WithoutPort(host));

    // RFC 9110 §7.2: Host = uri-host [ ":" port ]; an IPv6 literal keeps its brackets.
    private static ReadOnlySpan<char> WithoutPort(string host)
    {
        int end = host.StartsWith('[') ? host.IndexOf(']') + 1 : host.LastIndexOf(':');
        return end > 0 && end < host.Length ? host.AsSpan(0, end) : host;
    }
}
