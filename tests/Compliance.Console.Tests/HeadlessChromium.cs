using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Compliance.Console.Tests;

/// <summary>
/// A headless Chromium from the system (Debian's chromium or chromium-headless-shell), driven over the Chrome DevTools
/// Protocol: JSON messages on the page's websocket. Only what the console tests need: navigate, type, evaluate, screenshot.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly string[] Names = ["chromium", "chromium-headless-shell", "chromium-browser", "google-chrome", "google-chrome-stable"];
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;
    private int _nextId;

    private HeadlessChromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _receiving = Task.Run(ReceiveAsync);
    }

    public const int Width = 1360;

    /// <summary>The browser to use: COMPLIANCE_CHROMIUM if set, else the first of the usual names on PATH; null when none.</summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("COMPLIANCE_CHROMIUM") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        var folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return Names.SelectMany(name => folders.Select(folder => Path.Combine(folder, name))).FirstOrDefault(File.Exists);
    }

    public static async Task<HeadlessChromium> LaunchAsync(string executable, CancellationToken ct)
    {
        var profile = Directory.CreateTempSubdirectory("compliance-chromium-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            // No sandbox: tests may run as root in a container, and the browser only opens the console on loopback.
            ArgumentList =
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1", $"--window-size={Width},900",
                "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Chromium writes the port it chose into the profile folder.
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(portFile) || (await File.ReadAllTextAsync(portFile, ct)).Split('\n').Length < 2)
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{executable} did not open its DevTools port (exited: {process.HasExited}).");
            }

            await Task.Delay(100, ct);
        }

        var port = int.Parse((await File.ReadAllTextAsync(portFile, ct)).Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient();
        string? pageSocket = null;
        while (pageSocket is null)
        {
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list", ct))!.AsArray();
            pageSocket = targets.FirstOrDefault(t => (string?)t?["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            if (pageSocket is null)
            {
                await Task.Delay(100, ct);
            }
        }

        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(pageSocket), ct);
        var browser = new HeadlessChromium(process, profile, socket);
        await browser.SendAsync("Page.enable");
        await browser.SendAsync("Runtime.enable");
        return browser;
    }

    public async Task<JsonElement> SendAsync(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
        return await reply.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value (promises awaited).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result.TryGetProperty("exceptionDetails", out var error))
        {
            throw new InvalidOperationException($"The page threw: {error}");
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    public async Task NavigateAsync(string url) => await NewDocumentAfterAsync(() => SendAsync("Page.navigate", new { url }));

    /// <summary>Types text into the element the selector finds, as keyboard input.</summary>
    public async Task TypeAsync(string selector, string text)
    {
        await EvaluateAsync($"document.querySelector({JsonSerializer.Serialize(selector)}).focus()");
        await SendAsync("Input.insertText", new { text });
    }

    /// <summary>Clicks an element and waits for the page it leads to.</summary>
    public Task ClickAndWaitAsync(string selector) =>
        NewDocumentAfterAsync(() => EvaluateAsync($"document.querySelector({JsonSerializer.Serialize(selector)}).click()"));

    /// <summary>Waits until the expression is true in the page, or fails after the timeout.</summary>
    public async Task WaitUntilAsync(string expression, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await TryTrueAsync(expression))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The page never satisfied: {expression}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A PNG of the whole page, not only the window.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var metrics = await SendAsync("Page.getLayoutMetrics");
        var height = (int)Math.Ceiling(metrics.GetProperty("cssContentSize").GetProperty("height").GetDouble());
        await SendAsync("Emulation.setDeviceMetricsOverride", new { width = Width, height = Math.Clamp(height, 400, 12_000), deviceScaleFactor = 1, mobile = false });
        try
        {
            var shot = await SendAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true });
            return Convert.FromBase64String(shot.GetProperty("data").GetString()!);
        }
        finally
        {
            await SendAsync("Emulation.clearDeviceMetricsOverride");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receiving;
        }
        catch (OperationCanceledException)
        {
        }

        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Marks the current document, runs the action, and waits for a new, fully loaded document.</summary>
    private async Task NewDocumentAfterAsync(Func<Task> action)
    {
        await EvaluateAsync("window.__consoleTestOldPage = true");
        await action();
        await WaitUntilAsync("window.__consoleTestOldPage === undefined && document.readyState === 'complete'", TimeSpan.FromSeconds(60));
    }

    private async Task<bool> TryTrueAsync(string expression)
    {
        try
        {
            var value = await EvaluateAsync(expression);
            return value.ValueKind == JsonValueKind.True;
        }
        catch (InvalidOperationException)
        {
            // The page is being replaced: its context is gone, the next one is not ready yet.
            return false;
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
        {
            var part = await _socket.ReceiveAsync(buffer, _stop.Token);
            if (part.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            message.Write(buffer, 0, part.Count);
            if (!part.EndOfMessage)
            {
                continue;
            }

            using (var document = JsonDocument.Parse(message.ToArray()))
            {
                var root = document.RootElement;
                if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var reply))
                {
                    if (root.TryGetProperty("error", out var error))
                    {
                        reply.TrySetException(new InvalidOperationException($"DevTools error: {error}"));
                    }
                    else
                    {
                        reply.TrySetResult(root.GetProperty("result").Clone());
                    }
                }
            }

            message.SetLength(0);
        }
    }
}
