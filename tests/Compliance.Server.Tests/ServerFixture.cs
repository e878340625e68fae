using System.Text.Json;
using Compliance.Server.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Compliance.Server.Tests;

/// <summary>
/// The real server in-process (WebApplicationFactory) on a fresh SQLite file, with the demo lender it creates on
/// first start. Calls go through a real gRPC channel over the test server's HTTP handler.
/// </summary>
public class ServerFixture : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("compliance-server-").FullName;

    private DemoKeys? _keys;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Compliance:DataDirectory", DataDirectory);
    }

    /// <summary>Typed access to the host's services (e.g. the store, to break it on purpose).</summary>
    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>The demo lender's keys, as the server wrote them to the data directory on first start.</summary>
    public DemoKeys Keys => _keys ??= LoadKeys();

    private DemoKeys LoadKeys()
    {
        _ = Server; // starts the host, which creates the demo lender
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(DataDirectory, Startup.KeyFileName)));
        var keys = document.RootElement.GetProperty("keys");
        return new DemoKeys(
            keys.GetProperty("collection_system").GetString()!,
            keys.GetProperty("compliance_officer").GetString()!,
            keys.GetProperty("auditor").GetString()!,
            keys.GetProperty("administrator").GetString()!,
            document.RootElement.GetProperty("platform_admin_key").GetString()!);
    }

    /// <summary>A channel whose calls carry the given bearer key (none when null).</summary>
    public GrpcChannel Channel(string? key)
    {
        var options = new GrpcChannelOptions { HttpHandler = Server.CreateHandler() };
        if (key is not null)
        {
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {key}");
                return Task.CompletedTask;
            }));
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(Server.BaseAddress, options);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Bearer tokens of the demo lender's four roles and of the platform administrator.</summary>
public sealed record DemoKeys(string CollectionSystem, string ComplianceOfficer, string Auditor, string Administrator, string PlatformAdmin);
