namespace RawSse.Http;

/// <summary>
/// The route table: an exact path to its handler, and a fallback for every other path (the static files). Adding an
/// endpoint is one handler and one line where the server builds the table.
/// </summary>
internal sealed class Router(IHttpHandler fallback)
{
    private readonly Dictionary<string, IHttpHandler> _routes = new(StringComparer.Ordinal);

    public IHttpHandler this[string path]
    {
        init => _routes.Add(path, value);
    }

    public IHttpHandler Find(string path) => _routes.TryGetValue(path, out var handler) ? handler : fallback;
}
