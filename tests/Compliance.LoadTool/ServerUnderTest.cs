using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Compliance.LoadTool;

/// <summary>
/// The built Compliance.Server.dll (copied next to this tool by the project reference), run as its own process in
/// Development with a private data directory and a free loopback port. Disposing kills it.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    private const int KeptOutputLines = 40;
    private readonly Process _process;
    private readonly string _dataDirectory;
    private readonly Queue<string> _lastLines = new();

    private ServerUnderTest(Process process, string dataDirectory, string endpoint, string metrics)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        Endpoint = endpoint;
        Metrics = new Uri($"{metrics}/metrics");
    }

    public string Endpoint { get; }

    /// <summary>The server's Prometheus scrape (an HTTP/1.1 port of its own).</summary>
    public Uri Metrics { get; }

    public int ProcessId => _process.Id;

    /// <summary>The processor time the server process has used so far, on every core.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The memory the server process holds now (its resident set).</summary>
    public long ResidentBytes
    {
        get
        {
            _process.Refresh();
            return _process.WorkingSet64;
        }
    }

    /// <summary>The most memory the server process has held so far (its peak resident set).</summary>
    public long PeakResidentBytes
    {
        get
        {
            _process.Refresh();
            return _process.PeakWorkingSet64;
        }
    }

    /// <summary>The size of the server's data directory (database, its journal and logs).</summary>
    public long DataBytes => new DirectoryInfo(_dataDirectory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    /// <summary>The demo lender's compliance officer's key (incidents are an officer's to read).</summary>
    public string OfficerKey()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "dev-keys.json")));
        return document.RootElement.GetProperty("keys").GetProperty("compliance_officer").GetString()
            ?? throw new InvalidDataException("dev-keys.json has no compliance_officer key.");
    }

    /// <param name="settings">Configuration beside the defaults, as environment variables (COMPLIANCE__INGEST__LATEWINDOW, ...).</param>
    public static ServerUnderTest Start(string dataDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        var endpoint = $"http://127.0.0.1:{FreePort()}";
        var metrics = $"http://127.0.0.1:{FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Compliance.Server.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(endpoint);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["COMPLIANCE__DATADIRECTORY"] = dataDirectory;
        start.Environment["COMPLIANCE__TELEMETRY__METRICSURL"] = metrics;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning";
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var server = new ServerUnderTest(process, dataDirectory, endpoint, metrics);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits until the server listens and has written the demo lender's keys; returns the collection system's key.</summary>
    public async Task<string> WaitForCollectionKeyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var uri = new Uri(Endpoint);
        var keyFile = Path.Combine(_dataDirectory, "dev-keys.json");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode}:\n{RecentOutput}");
            }

            if (File.Exists(keyFile) && await ListensAsync(uri, ct))
            {
                try
                {
                    using var document = JsonDocument.Parse(await File.ReadAllTextAsync(keyFile, ct));
                    return document.RootElement.GetProperty("keys").GetProperty("collection_system").GetString()
                        ?? throw new InvalidDataException($"{keyFile} has no collection_system key.");
                }
                catch (Exception e) when (e is IOException or JsonException)
                {
                    // Being written; read it again on the next round.
                }
            }

            await Task.Delay(100, ct);
        }

        throw new TimeoutException($"The server was not ready within {timeout}:\n{RecentOutput}");
    }

    public string RecentOutput
    {
        get
        {
            lock (_lastLines)
            {
                return string.Join(Environment.NewLine, _lastLines);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static async Task<bool> ListensAsync(Uri uri, CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(uri.Host, uri.Port, ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > KeptOutputLines)
            {
                _lastLines.Dequeue();
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
