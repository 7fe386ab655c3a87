using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RawSse;

var defaults = new ServerOptions();
var port = new Option<int>("--port") { Description = "TCP port to listen on", DefaultValueFactory = _ => defaults.Port };
var bind = new Option<string>("--bind") { Description = "Address to listen on (0.0.0.0 to expose)", DefaultValueFactory = _ => defaults.BindAddress.ToString() };
var root = new Option<string>("--root") { Description = "Folder of static files", DefaultValueFactory = _ => defaults.Root };
var interval = new Option<int>("--interval") { Description = "Ticker period in ms on the default topic; 0 turns it off", DefaultValueFactory = _ => (int)defaults.TickInterval.TotalMilliseconds };
var allowOrigin = new Option<string>("--allow-origin") { Description = "Access-Control-Allow-Origin sent on streams; empty sends none", DefaultValueFactory = _ => defaults.AllowOrigin ?? "" };
var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error, Critical or None", DefaultValueFactory = _ => LogLevel.Information };

var command = new RootCommand("RawSse: a Server-Sent Events server on raw sockets. Serves a folder and holds /sse streams open.")
{
    port, bind, root, interval, allowOrigin, logLevel,
};

var parsed = command.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"rawsse: {error.Message}");
    }

    Console.Error.WriteLine("Try 'rawsse --help'.");
    return 2;
}

command.SetAction(async (result, _) =>
{
    if (!IPAddress.TryParse(result.GetValue(bind), out var address))
    {
        Console.Error.WriteLine($"rawsse: --bind '{result.GetValue(bind)}' is not an IP address");
        return 2;
    }

    var options = new ServerOptions
    {
        BindAddress = address,
        Port = result.GetValue(port),
        Root = Path.GetFullPath(result.GetValue(root)!),
        TickInterval = TimeSpan.FromMilliseconds(result.GetValue(interval)),
        AllowOrigin = result.GetValue(allowOrigin),
    };

    try
    {
        options.Validate();
    }
    catch (ArgumentException ex)
    {
        Console.Error.WriteLine($"rawsse: {ex.Message}");
        return 2;
    }

    using var loggerFactory = LoggerFactory.Create(logging => logging
        .SetMinimumLevel(result.GetValue(logLevel))
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        }));

    await using var server = new Server(options, loggerFactory);
    try
    {
        server.Start();
    }
    catch (System.Net.Sockets.SocketException ex)
    {
        Console.Error.WriteLine($"rawsse: cannot listen on {options.BindAddress}:{options.Port}: {ex.Message}");
        return 1;
    }

    var host = options.BindAddress.Equals(IPAddress.Loopback) ? "localhost" : options.BindAddress.ToString();
    Console.WriteLine($"RawSse listening on http://{host}:{server.LocalEndPoint.Port}/ serving {server.Options.Root} (Ctrl+C to stop)");

    // Ctrl+C and SIGTERM both stop gracefully; the runtime's default handling is cancelled.
    var stop = new TaskCompletionSource();
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    await stop.Task.ConfigureAwait(false);
    await server.StopAsync().ConfigureAwait(false);
    Console.WriteLine("RawSse stopped");
    return 0;

    void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.TrySetResult();
    }
});

return await parsed.InvokeAsync();
