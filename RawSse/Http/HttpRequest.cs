namespace RawSse.Http;

/// <summary>
/// One request head. A connection reuses a single instance: <see cref="Reset"/> clears it between requests.
/// Only the fields the server acts on are decoded to strings; other headers are validated and skipped.
/// </summary>
internal sealed class HttpRequest
{
    public RequestMethod Method { get; set; }

    /// <summary>The request-target as sent, for logs (visible ASCII only: the parser guarantees it).</summary>
    public string Target { get; set; } = "";

    /// <summary>The path of an origin-form or absolute-form target, still percent-encoded.</summary>
    public string Path { get; set; } = "";

    /// <summary>The query without its '?', or empty.</summary>
    public string Query { get; set; } = "";

    /// <summary>1 for HTTP/1.1, 0 for HTTP/1.0.</summary>
    public int MinorVersion { get; set; }

    public int HostCount { get; set; }
    public string? Host { get; set; }

    /// <summary>-1 when absent.</summary>
    public long ContentLength { get; set; } = -1;
    public string? TransferEncoding { get; set; }

    /// <summary>The body is chunked (RFC 9112 §7.1): its length is known only once it has been read.</summary>
    public bool Chunked { get; set; }

    public string? Expect { get; set; }

    /// <summary>An HTTP/1.1 client waits for <c>100 Continue</c> before it sends the body (RFC 9110 §10.1.1).</summary>
    public bool ExpectsContinue { get; set; }

    /// <summary>True once the body has been asked for and <c>100 Continue</c> sent.</summary>
    internal bool ContinueSent { get; set; }

    /// <summary>A body follows the head: a positive Content-Length, or chunked.</summary>
    public bool HasBody => ContentLength > 0 || Chunked;
    public bool ConnectionClose { get; set; }
    public bool ConnectionKeepAlive { get; set; }
    public string? IfNoneMatch { get; set; }
    public string? IfModifiedSince { get; set; }
    public string? LastEventId { get; set; }
    public string? Authorization { get; set; }
    public string? ContentType { get; set; }

    /// <summary>The <c>Cookie</c> field (RFC 6265 §5.4), as sent; only the token cookie is ever read from it.</summary>
    public string? Cookie { get; set; }

    /// <summary>The <c>Origin</c> a browser sends with a cross-origin or unsafe request (RFC 6454), as sent.</summary>
    public string? Origin { get; set; }

    /// <summary><c>Sec-Fetch-Site</c> (Fetch Metadata): same-origin, same-site, cross-site or none.</summary>
    public string? SecFetchSite { get; set; }

    // Parser progress, so a head that arrives in pieces is not parsed again from the start.
    internal bool RequestLineDone { get; set; }
    internal bool LeadingLineSkipped { get; set; }
    internal int HeaderCount { get; set; }
    internal int HeaderBytes { get; set; }

    /// <summary>HTTP/1.1 defaults to persistent connections; HTTP/1.0 only when asked (RFC 9112 §9.3).</summary>
    public bool KeepAlive => MinorVersion == 1 ? !ConnectionClose : ConnectionKeepAlive && !ConnectionClose;

    // The connection's last target, path, query, Host and Content-Type (see RecentText); kept across Reset.
    internal RecentText RecentTarget, RecentPath, RecentQuery, RecentHost, RecentContentType;

    public void Reset()
    {
        Method = default;
        Target = Path = Query = "";
        MinorVersion = 0;
        HostCount = 0;
        Host = null;
        ContentLength = -1;
        TransferEncoding = Expect = null;
        Chunked = ExpectsContinue = ContinueSent = false;
        ConnectionClose = ConnectionKeepAlive = false;
        IfNoneMatch = IfModifiedSince = LastEventId = Authorization = ContentType = Cookie = Origin = SecFetchSite = null;
        RequestLineDone = LeadingLineSkipped = false;
        HeaderCount = HeaderBytes = 0;
    }
}
