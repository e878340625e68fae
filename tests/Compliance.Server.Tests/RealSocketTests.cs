using System.Text.Json;
using Compliance.Api.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;

namespace Compliance.Server.Tests;

/// <summary>The server as a separate process over a real HTTP/2 socket: first start, restart, refusal to start.</summary>
public sealed class RealSocketTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("compliance-process-").FullName;

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    private string DemoKey(string role)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "dev-keys.json")));
        return document.RootElement.GetProperty("keys").GetProperty(role).GetString()!;
    }

    [Fact]
    public async Task FirstStart_ServesHealthAndRegistry_AndARestartKeepsTheData()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var server = ServerProcess.Start(_dataDirectory))
        {
            await server.WaitUntilListeningAsync(StartTimeout);
            using var channel = GrpcChannel.ForAddress(server.Endpoint);

            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: ct);
            var registry = new RegistryService.RegistryServiceClient(channel);
            await registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account
                {
                    AccountId = "socket-1",
                    Location = new Location { Region = "US-NY" },
                    ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = "(212) 555-0134", RegionHint = "US" } },
                },
            }, Bearer(DemoKey("collection_system")), cancellationToken: ct);

            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            Assert.Contains("Created demo lender", server.Output, StringComparison.Ordinal);
            // The configured levels hold (Information by default): no trace or debug lines, which once carried every message.
            Assert.DoesNotContain("trce:", server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("dbug:", server.Output, StringComparison.Ordinal);
        }

        await using (var restarted = ServerProcess.Start(_dataDirectory))
        {
            await restarted.WaitUntilListeningAsync(StartTimeout);
            using var channel = GrpcChannel.ForAddress(restarted.Endpoint);
            var account = await new RegistryService.RegistryServiceClient(channel)
                .GetAccountAsync(new GetAccountRequest { AccountId = "socket-1" }, Bearer(DemoKey("auditor")), cancellationToken: ct);

            Assert.Equal("+1 212*****34", account.Account.ContactPoints[0].Masked);
            Assert.Equal("US", account.Account.Location.CountryCode);
            Assert.DoesNotContain("Created demo lender", restarted.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ANewerSchema_IsRefused_WithAClearMessage()
    {
        await using (var first = ServerProcess.Start(_dataDirectory))
        {
            await first.WaitUntilListeningAsync(StartTimeout);
        }

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "compliance.db")};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES (999, 'future', 0)";
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await using var refused = ServerProcess.Start(_dataDirectory);
        var exitCode = await refused.WaitForExitAsync(StartTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("database schema is version 999", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondServer_OnTheSameDatabaseFile_IsRefused_WithOneLine_AndTheFirstServesOn()
    {
        await using var first = ServerProcess.Start(_dataDirectory);
        await first.WaitUntilListeningAsync(StartTimeout);

        await using var second = ServerProcess.Start(_dataDirectory);
        var exitCode = await second.WaitForExitAsync(StartTimeout);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(second.Output.Split('\n'), l => l.StartsWith("compliance: cannot start:", StringComparison.Ordinal));
        Assert.Contains("compliance.db is in use by another Compliance server process", line, StringComparison.Ordinal);
        Assert.False(first.HasExited);
        await first.WaitUntilListeningAsync(StartTimeout);
    }

    [Fact]
    public async Task Production_WithoutAdminKey_RefusesToStart_NamingTheSetting()
    {
        await using var server = ServerProcess.Start(_dataDirectory, new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        var exitCode = await server.WaitForExitAsync(StartTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("Compliance:Auth:PlatformAdminKey", server.Output, StringComparison.Ordinal);
        Assert.Contains("Compliance:Privacy:ContactHashKey", server.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "dev-keys.json")));
    }

    [Fact]
    public async Task AFortyThousandCharacterValue_IsAnsweredPromptly_AndTheConnectionStaysUsable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = ServerProcess.Start(_dataDirectory);
        await server.WaitUntilListeningAsync(StartTimeout);
        using var channel = GrpcChannel.ForAddress(server.Endpoint);
        var headers = Bearer(DemoKey("administrator"));
        var options = new CallOptions(headers, DateTime.UtcNow.AddSeconds(15), ct);
        var longValue = new string('x', 40_000);

        // Each of these once echoed the whole value into the status trailers, which no client would accept.
        var profile = await Assert.ThrowsAsync<RpcException>(() => new PolicyService.PolicyServiceClient(channel)
            .GetProfileAsync(new GetProfileRequest { ProfileId = longValue }, options).ResponseAsync);
        var zone = await Assert.ThrowsAsync<RpcException>(() => new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account { AccountId = "long-zone", Location = new Location { CountryCode = "CN", TimeZone = longValue } },
        }, options).ResponseAsync);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), options);

        Assert.Equal(StatusCode.InvalidArgument, profile.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, zone.StatusCode);
        Assert.Contains("account.location.time_zone", zone.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}
