using System.Globalization;
using System.Net;
using AspnetPeer;
using Microsoft.Extensions.FileProviders;

// ASP.NET Core minimal API with RawSse's endpoints, for comparison in the benchmarks only:
// GET /sse?topic=a&topic=b (TypedResults.ServerSentEvents over a bounded Channel per subscriber),
// POST /publish (form fields topic, data, id, type, retry; answers the event id), a ticker on the default
// topic, and static files from a folder (UseStaticFiles). Arguments: --port, --root, --interval, --buffer.
int port = 8080, interval = 500, buffer = 256;
string root = "./public";
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--port": port = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--root": root = args[i + 1]; break;
        case "--interval": interval = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--buffer": buffer = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

root = Path.GetFullPath(root);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(IPAddress.Loopback, port);
    k.Limits.MaxConcurrentConnections = null;
    k.Limits.MaxConcurrentUpgradedConnections = null;
});
var hub = new Hub(buffer);
builder.Services.AddSingleton(hub);

var app = builder.Build();
var files = new PhysicalFileProvider(root);
app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
app.UseStaticFiles(new StaticFileOptions { FileProvider = files });

app.MapGet("/sse", (HttpContext context, CancellationToken cancellationToken) =>
{
    var topics = context.Request.Query["topic"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToArray();
    return TypedResults.ServerSentEvents(hub.Subscribe(topics.Length == 0 ? [Hub.DefaultTopic] : topics, cancellationToken));
});

app.MapPost("/publish", async (HttpContext context) =>
{
    if (!context.Request.HasFormContentType)
    {
        return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
    }

    var form = await context.Request.ReadFormAsync(context.RequestAborted);
    var topics = form["topic"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToArray();
    if (topics.Length == 0)
    {
        return Results.BadRequest("missing topic\n");
    }

    string? id = form["id"].FirstOrDefault() is { Length: > 0 } given ? given : null;
    string? type = form["type"].FirstOrDefault() is { Length: > 0 } t ? t : null;
    TimeSpan? retry = int.TryParse(form["retry"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out int ms) ? TimeSpan.FromMilliseconds(ms) : null;
    if ((id ?? "").AsSpan().IndexOfAny('\r', '\n', '\0') >= 0 || (type ?? "").AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
    {
        return Results.BadRequest("id and type must not contain CR, LF or NUL\n");
    }

    string eventId = hub.Publish(topics, _ => (form["data"].FirstOrDefault() ?? "", type, id, retry));
    return Results.Text(eventId, "text/plain");
});

if (interval > 0)
{
    _ = Task.Run(async () =>
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(interval));
        while (await timer.WaitForNextTickAsync())
        {
            hub.Publish([Hub.DefaultTopic], seq => (
                string.Create(CultureInfo.InvariantCulture, $$"""{"id":{{seq}},"time":"{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ}}"}"""), "tick", null, null));
        }
    });
}

Console.WriteLine($"AspnetPeer listening on http://127.0.0.1:{port}/ serving {root}");
await app.RunAsync();
return 0;
