using System.Text.Json;
using Compliance.Server.Configuration;
using Compliance.Server.Security;
using Compliance.Server.Services;
using Compliance.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Model = Compliance.Domain.Registry;

namespace Compliance.Server.Infrastructure;

/// <summary>
/// Runs before the server accepts calls: applies schema migrations and, on a fresh development database,
/// creates the demo lender and hands out its keys.
/// </summary>
internal sealed class Startup(
    IComplianceStore store,
    Gate.PolicyRegistry policies,
    IOptions<ComplianceOptions> options,
    IHostEnvironment environment,
    IServer server,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<Startup> logger) : IHostedService
{
    public const string KeyFileName = "dev-keys.json";

    public async Task StartAsync(CancellationToken ct)
    {
        var status = await store.MigrateAsync(ct);
        if (status.Applied.Count > 0)
        {
            logger.LogInformation("Schema migrated from version {From} to {To}: {Scripts}", status.PreviousVersion, status.CurrentVersion, string.Join(", ", status.Applied));
        }

        await policies.RefreshAsync(ct);
        if (!environment.IsDevelopment())
        {
            lifetime.ApplicationStarted.Register(WarnWithoutTls);
        }

        var demo = options.Value.Auth.DemoLender ?? environment.IsDevelopment();
        if (demo && !await store.AnyLenderAsync(ct))
        {
            await CreateDemoLenderAsync(ct);
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Bearer keys travel in every call: said once at start when an address serves them in the clear.</summary>
    private void WarnWithoutTls()
    {
        var plain = server.Features.Get<IServerAddressesFeature>()?.Addresses.Where(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)).ToList() ?? [];
        if (plain.Count > 0)
        {
            logger.LogWarning("Serving without TLS on {Addresses}: API keys travel in clear text. Put TLS in front (a proxy or load balancer that terminates it) or configure Kestrel certificates.",
                string.Join(", ", plain));
        }
    }

    private void WriteKeyFile(string file, string lenderId, Dictionary<string, string> keys, string? endpoint)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var content = new { lender_id = lenderId, endpoint, platform_admin_key = options.Value.Auth.PlatformAdminKey, keys };
        // Written aside and moved into place, so a reader (the CLI) never sees a half-written file.
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(content, new JsonSerializerOptions { WriteIndented = true }));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, file, overwrite: true);
    }

    private async Task CreateDemoLenderAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        const string lenderId = "demo";
        await store.CreateLenderAsync(new Model.Lender(lenderId, "Demo Lender", "US", now), ct);
        await store.UpsertAgencyAsync(new Model.Agency(lenderId, "in-house", "In-house collections", true), ct);
        await store.UpsertCollectorAsync(new Model.Collector(lenderId, "collector-1", "in-house", "Demo collector", Model.CollectorKind.Human, true), now, ct);

        var keys = new Dictionary<string, string>();
        var keyIds = new List<string>();
        foreach (var role in new[] { Model.Role.CollectionSystem, Model.Role.ComplianceOfficer, Model.Role.Auditor, Model.Role.Administrator })
        {
            var (key, token) = await RegistryGrpcService.IssueKeyAsync(store, lenderId, role, $"demo {role}", now, ct);
            keys[JsonNamingPolicy.SnakeCaseLower.ConvertName(role.ToString())] = token;
            keyIds.Add($"  {JsonNamingPolicy.SnakeCaseLower.ConvertName(role.ToString()),-18} {key.KeyId}");
        }

        var file = Path.Combine(options.Value.DataDirectory, KeyFileName);
        WriteKeyFile(file, lenderId, keys, endpoint: null);
        // The addresses are known only once the server listens; the CLI reads the endpoint from the file.
        lifetime.ApplicationStarted.Register(() =>
        {
            var endpoint = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            WriteKeyFile(file, lenderId, keys, endpoint?.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal));
        });

        // The keys themselves are only in the file (readable by this user alone): logs are shipped and kept elsewhere,
        // and never hold a key. They are not recoverable later (only hashes are stored).
        logger.LogWarning(
            "Created demo lender '{Lender}'. Its API keys are in {File}; their ids:{NewLine}{Keys}",
            lenderId, file, Environment.NewLine, string.Join(Environment.NewLine, keyIds));
    }
}
