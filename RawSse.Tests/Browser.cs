using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace RawSse.Tests;

/// <summary>
/// A headless Chromium driven by Debian's chromedriver, with a throwaway profile. The driver path is given
/// explicitly, so Selenium Manager never runs (and never tries to download a browser or a driver).
/// A missing browser is a failure, never a skip: CI installs it with apt-get.
/// </summary>
internal sealed class Browser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string DriverFolder = "/usr/bin";
    public const string DriverFile = "chromedriver";

    // Bounds every call to chromedriver, so a hung browser fails a test instead of stalling the run.
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };

    // One read of everything the tests look at, taken in a single script so it is a consistent snapshot.
    // The list is newest first on the page; the snapshot is in arrival order.
    private const string SnapshotScript = """
        var state = document.getElementById('state');
        var rows = Array.prototype.slice.call(document.querySelectorAll('#events > li')).reverse();
        var height = window.innerHeight;
        return JSON.stringify({
          state: state ? state.textContent : null,
          dataState: state ? state.getAttribute('data-state') : null,
          count: (document.getElementById('count') || {}).textContent || '',
          lastId: (document.getElementById('last-id') || {}).textContent || '',
          publishResult: (document.getElementById('publish-result') || {}).textContent || '',
          events: rows.map(function (li) {
            var text = li.querySelector('.text');
            var box = li.getBoundingClientRect();
            return {
              className: li.className,
              id: li.hasAttribute('data-id') ? li.getAttribute('data-id') : null,
              text: text ? text.textContent : li.textContent,
              visible: box.height > 0 && box.bottom > 0 && box.top < height
            };
          })
        });
        """;

    private readonly ChromeDriverService _service;
    private readonly string _profile;

    private Browser(ChromeDriver driver, ChromeDriverService service, string profile)
    {
        Driver = driver;
        _service = service;
        _profile = profile;
    }

    public ChromeDriver Driver { get; }

    /// <param name="acceptAnyCertificate">Trust any TLS certificate (a test's self-signed one), so https pages load.</param>
    public static Browser Start(bool acceptAnyCertificate = false)
    {
        string driverPath = Path.Combine(DriverFolder, DriverFile);
        if (!File.Exists(ChromiumPath) || !File.Exists(driverPath))
        {
            Assert.Fail($"browser tests need {ChromiumPath} and {driverPath} (found browser: {File.Exists(ChromiumPath)}, driver: {File.Exists(driverPath)}); " +
                "install chromium chromium-driver (apt-get install -y chromium chromium-driver)");
        }

        string profile = Directory.CreateTempSubdirectory("rawsse-chrome-").FullName;
        ChromeDriverService? service = null;
        try
        {
            service = ChromeDriverService.CreateDefaultService(DriverFolder, DriverFile);
            service.SuppressInitialDiagnosticInformation = true;
            service.HideCommandPromptWindow = true;
            var options = new ChromeOptions { BinaryLocation = ChromiumPath };
            options.AddArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--no-proxy-server",
                "--window-size=1280,900",
                $"--user-data-dir={profile}");
            if (acceptAnyCertificate)
            {
                options.AddArgument("--ignore-certificate-errors");
            }

            var driver = new ChromeDriver(service, options, s_commandTimeout);
            driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(10);
            driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(5);
            return new Browser(driver, service, profile);
        }
        catch
        {
            service?.Dispose();
            DeleteQuietly(profile);
            throw;
        }
    }

    public void Open(string url) => Driver.Navigate().GoToUrl(url);

    public PageSnapshot Read() => ReadJson<PageSnapshot>(SnapshotScript);

    /// <summary>Runs <paramref name="script"/>, which returns a JSON string, and reads it as <typeparamref name="T"/>.</summary>
    public T ReadJson<T>(string script)
    {
        var json = Driver.ExecuteScript(script) as string
            ?? throw new InvalidOperationException("the script returned no JSON");
        return JsonSerializer.Deserialize<T>(json, s_json)
            ?? throw new InvalidOperationException($"the script returned '{json}'");
    }

    /// <summary>
    /// Reads the page until <paramref name="condition"/> holds or <paramref name="timeout"/> passes, and returns the
    /// last snapshot either way: the caller asserts on it, so a failure shows what the page had instead.
    /// </summary>
    public async Task<PageSnapshot> WaitForAsync(Func<PageSnapshot, bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var snapshot = Read();
            if (condition(snapshot) || stopwatch.Elapsed > timeout)
            {
                return snapshot;
            }

            await Task.Delay(s_pollInterval);
        }
    }

    public void SaveScreenshot(string path) => ((ITakesScreenshot)Driver).GetScreenshot().SaveAsFile(path);

    public async ValueTask DisposeAsync()
    {
        try
        {
            Driver.Quit();
        }
        catch (WebDriverException)
        {
            // The browser is already gone; the service dispose below ends the driver process.
        }
        finally
        {
            Driver.Dispose();
            _service.Dispose();
        }

        // Chromium's helper processes can still be writing the profile for a moment after Quit.
        var deadline = Stopwatch.StartNew();
        while (!DeleteQuietly(_profile) && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(100);
        }
    }

    private static bool DeleteQuietly(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>What the demo page shows at one moment.</summary>
internal sealed record PageSnapshot(string? State, string? DataState, string Count, string LastId, string PublishResult, IReadOnlyList<PageEvent> Events)
{
    public int CountValue => int.TryParse(Count, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1;

    /// <summary>data-id of every listed event, in arrival order.</summary>
    public IReadOnlyList<string> Ids => [.. Events.Where(e => e.Id is not null).Select(e => e.Id!)];

    /// <summary>data-id of every li.event-tick, in arrival order.</summary>
    public IReadOnlyList<string> TickIds => [.. Events.Where(e => e.IsTick && e.Id is not null).Select(e => e.Id!)];

    public int VisibleEvents => Events.Count(e => e.Visible && e.ClassName.StartsWith("event ", StringComparison.Ordinal));

    /// <summary>The largest sequence among the listed data-ids, or -1.</summary>
    public long MaxId => Ids.Select(SequenceOf).DefaultIfEmpty(-1).Max();

    /// <summary>The sequence of a hub-assigned id (<c>&lt;epoch&gt;-&lt;sequence&gt;</c>), or -1 for any other id.</summary>
    public static long SequenceOf(string id) =>
        id.LastIndexOf('-') is int dash and > 0 && long.TryParse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : -1;

    public override string ToString() =>
        $"state '{State}' (data-state '{DataState}'), count '{Count}', last id '{LastId}', publish result '{PublishResult}', " +
        $"{Events.Count} list items: [{string.Join(", ", Events.Select(e => $"{e.ClassName}#{e.Id ?? "-"} '{e.Text}'"))}]";
}

internal sealed record PageEvent(string ClassName, string? Id, string Text, bool Visible)
{
    public bool IsTick => ClassName.Split(' ').Contains("event-tick");
    public bool IsMessage => ClassName.Split(' ').Contains("event-message");
}
