using Compliance.Server.Tests;

namespace Compliance.Cli.Tests;

/// <summary>One real server process for the CLI tests, with its own data directory (where it writes the development keys).</summary>
public sealed class CliServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("compliance-cli-").FullName;

    public string Endpoint => _server!.Endpoint;

    public async ValueTask InitializeAsync()
    {
        _server = ServerProcess.Start(DataDirectory);
        await _server.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
        var keys = Path.Combine(DataDirectory, "dev-keys.json");
        for (var i = 0; i < 600 && !File.Exists(keys); i++)
        {
            await Task.Delay(100);
        }

        if (!File.Exists(keys))
        {
            throw new InvalidOperationException($"The server wrote no development keys within 60 s:\n{_server.Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the ending server: the temporary folder is left for the system to clean.
        }
    }
}
