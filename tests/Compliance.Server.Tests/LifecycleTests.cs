using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;

namespace Compliance.Server.Tests;

/// <summary>Start-up and shutdown of the real server process: clear statuses, clear one-line errors, private files.</summary>
public sealed class LifecycleTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("compliance-lifecycle-").FullName;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Metadata Bearer(string role)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "dev-keys.json")));
        return new Metadata { { "authorization", $"Bearer {document.RootElement.GetProperty("keys").GetProperty(role).GetString()}" } };
    }

    [Fact]
    public async Task Stopping_WithALiveWatchAndStream_EndsBothWithUnavailable_SignsTheLastCheckpoint_AndExitsZero()
    {
        await using var server = ServerProcess.Start(_dataDirectory);
        await server.WaitUntilListeningAsync(StartTimeout);
        using var channel = GrpcChannel.ForAddress(server.Endpoint);
        var system = Bearer("collection_system");
        await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "stop-1",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "cp-1", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
            },
        }, system, cancellationToken: Ct);
        using var watch = new AlertService.AlertServiceClient(channel).Watch(new WatchRequest(), Bearer("compliance_officer"), cancellationToken: Ct);
        await watch.ResponseHeadersAsync;
        using var stream = new EventIngestService.EventIngestServiceClient(channel).Stream(system, cancellationToken: Ct);
        await stream.RequestStream.WriteAsync(new StreamRequest
        {
            Events =
            {
                new Event
                {
                    EventId = "stop-e1", AccountId = "stop-1", CollectorId = "collector-1", Channel = Channel.Sms, OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
                    Destination = new Destination { ContactPointId = "cp-1" }, MessageSent = new MessageSent { Body = "Please call us. Reply STOP to opt out." },
                },
            },
        }, Ct);
        Assert.True(await stream.ResponseStream.MoveNext(Ct));

        // Both read while the host stops, as a watcher and a feed do.
        var watchNext = watch.ResponseStream.MoveNext(Ct);
        var streamNext = stream.ResponseStream.MoveNext(Ct);
        var stopping = Stopwatch.StartNew();
        server.Terminate();
        var watchEnd = await Assert.ThrowsAsync<RpcException>(() => watchNext);
        var streamEnd = await Assert.ThrowsAsync<RpcException>(() => streamNext);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        TestContext.Current.TestOutputHelper?.WriteLine($"stopped in {stopping.Elapsed.TotalSeconds:F1} s; watch: {watchEnd.Status}; stream: {streamEnd.Status}\n{server.Output}");

        Assert.Equal(StatusCode.Unavailable, watchEnd.StatusCode);
        Assert.Contains("stopping", watchEnd.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unavailable, streamEnd.StatusCode);
        Assert.Contains("stopping", streamEnd.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
        Assert.Contains("Signed the final ledger checkpoint", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("TaskCanceledException", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABusyPort_StopsTheStart_WithOneLine_AndExitCode1()
    {
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var port = ((IPEndPoint)occupied.LocalEndpoint).Port;

        await using var server = ServerProcess.Start(_dataDirectory, port: port);
        var exitCode = await server.WaitForExitAsync(StartTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("compliance: cannot start: the address is already in use", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DatabaseFiles_AreReadableByTheirOwnerOnly()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        await using var server = ServerProcess.Start(_dataDirectory);
        await server.WaitUntilListeningAsync(StartTimeout);

        var files = Directory.GetFiles(_dataDirectory, "compliance*.db*");
        Assert.Contains(files, f => f.EndsWith("compliance.db", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("compliance.decisions.db", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("compliance.db.lock", StringComparison.Ordinal));
        foreach (var file in files)
        {
            Assert.Equal((file, UnixFileMode.UserRead | UnixFileMode.UserWrite), (file, OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(file)));
        }
    }

    [Fact]
    public async Task Production_RefusesTheDemoLenderSwitch()
    {
        await using var server = ServerProcess.Start(_dataDirectory, ProductionSettings(new() { ["COMPLIANCE__AUTH__DEMOLENDER"] = "true" }));
        var exitCode = await server.WaitForExitAsync(StartTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("Compliance:Auth:DemoLender is for development only", server.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "dev-keys.json")));
    }

    [Fact]
    public async Task Production_WithoutTls_SaysSoOnce_AtStart()
    {
        await using var server = ServerProcess.Start(_dataDirectory, ProductionSettings([]));
        await server.WaitUntilListeningAsync(StartTimeout);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!server.Output.Contains("Serving without TLS", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
        }

        Assert.Contains("Serving without TLS", server.Output, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> ProductionSettings(Dictionary<string, string> more)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var settings = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["COMPLIANCE__AUTH__PLATFORMADMINKEY"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            ["COMPLIANCE__PRIVACY__CONTACTHASHKEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["COMPLIANCE__AUDIT__SIGNINGKEY"] = key.ExportECPrivateKeyPem(),
        };
        foreach (var (name, value) in more)
        {
            settings[name] = value;
        }

        return settings;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>Health follows the store's writes: NOT_SERVING while they fail, SERVING once one succeeds again.</summary>
public sealed class WriteHealthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_IsNotServing_WhileWritesFail_AndServingOnceTheyWork()
    {
        await using var server = new ServerFixture();
        var system = server.Channel(server.Keys.CollectionSystem);
        await new RegistryService.RegistryServiceClient(system).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "wh-1",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "cp-1", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
            },
        }, cancellationToken: Ct);
        var health = new Health.HealthClient(server.Channel(null));
        await ExecuteAsync(server, "CREATE TRIGGER refuse_all BEFORE INSERT ON event_log BEGIN SELECT RAISE(ABORT, 'disk full'); END;");

        var refused = await Assert.ThrowsAsync<RpcException>(() => SendAsync(system, "wh-e1"));
        var whileFailing = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        await ExecuteAsync(server, "DROP TRIGGER refuse_all;");
        await SendAsync(system, "wh-e1");
        var afterwards = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, whileFailing.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, afterwards.Status);
    }

    private static async Task SendAsync(GrpcChannel channel, string eventId)
    {
        using var stream = new EventIngestService.EventIngestServiceClient(channel).Stream(cancellationToken: Ct);
        await stream.RequestStream.WriteAsync(new StreamRequest
        {
            Events =
            {
                new Event
                {
                    EventId = eventId, AccountId = "wh-1", CollectorId = "collector-1", Channel = Channel.Sms, OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
                    Destination = new Destination { ContactPointId = "cp-1" }, MessageSent = new MessageSent { Body = "Please call us. Reply STOP to opt out." },
                },
            },
        }, Ct);
        await stream.RequestStream.CompleteAsync();
        while (await stream.ResponseStream.MoveNext(Ct))
        {
        }
    }

    private static async Task ExecuteAsync(ServerFixture server, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "compliance.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }
}
