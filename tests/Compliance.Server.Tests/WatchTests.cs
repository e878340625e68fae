using System.Text.Json;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compliance.Server.Tests;

/// <summary>
/// Alerts.Watch over a real HTTP/2 socket, against the server as its own process: a watcher resumes after the last
/// sequence it holds and gets exactly what it missed, and an incident stored by another writer (as another replica
/// stores it) reaches the watchers of its lender and of no other.
/// </summary>
public sealed class WatchTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("compliance-watch-").FullName;
    private ServerProcess _server = null!;
    private GrpcChannel _channel = null!;

    public async ValueTask InitializeAsync()
    {
        // Other replicas' incidents are found by polling: a short interval keeps the test short.
        _server = ServerProcess.Start(_dataDirectory, new Dictionary<string, string> { ["COMPLIANCE__ALERTS__POLLINTERVAL"] = "00:00:00.200" });
        await _server.WaitUntilListeningAsync(StartTimeout);
        _channel = GrpcChannel.ForAddress(_server.Endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Key(string role)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "dev-keys.json")));
        return role == "platform_admin"
            ? document.RootElement.GetProperty("platform_admin_key").GetString()!
            : document.RootElement.GetProperty("keys").GetProperty(role).GetString()!;
    }

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    private AlertService.AlertServiceClient Alerts => new(_channel);

    private async Task BlastAsync(string accountId) =>
        Assert.Equal(4, (await WatchScenario.BlastAsync(_channel, Bearer(Key("collection_system")), accountId)).Acks.Count);

    private static Task<Incident> NextAsync(AsyncServerStreamingCall<WatchResponse> watch) => WatchScenario.NextAsync(watch);

    [Fact]
    public async Task AWatcherThatDropsTheCall_ResumesAfterItsLastSequence_WithExactlyTheIncidentsItMissed_InOrder()
    {
        var officer = Bearer(Key("compliance_officer"));
        var first = new List<Incident>();
        using (var watch = Alerts.Watch(new WatchRequest(), officer, cancellationToken: Ct))
        {
            await watch.ResponseHeadersAsync;
            await BlastAsync("W-1");
            first.Add(await NextAsync(watch));
            await BlastAsync("W-2");
            first.Add(await NextAsync(watch));
        }

        // Nobody watches while these are raised.
        foreach (var account in new[] { "W-3", "W-4", "W-5" })
        {
            await BlastAsync(account);
        }

        using var resumed = Alerts.Watch(new WatchRequest { AfterSequence = first[^1].Sequence }, officer, cancellationToken: Ct);
        var missed = new List<Incident> { await NextAsync(resumed), await NextAsync(resumed), await NextAsync(resumed) };
        // Then the tail: the next incidents arrive next, so nothing was sent twice in between.
        await BlastAsync("W-6");
        var tail = await NextAsync(resumed);
        await BlastAsync("W-7");
        var after = await NextAsync(resumed);
        using var replay = Alerts.Watch(new WatchRequest { AfterSequence = 0 }, officer, cancellationToken: Ct);
        var everything = new List<Incident>();
        for (var i = 0; i < 7; i++)
        {
            everything.Add(await NextAsync(replay));
        }

        Assert.Equal(["W-1", "W-2"], first.Select(i => i.AccountId));
        Assert.Equal([1L, 2L], first.Select(i => i.Sequence));
        Assert.Equal(["W-3", "W-4", "W-5"], missed.Select(i => i.AccountId));
        Assert.Equal([3L, 4L, 5L], missed.Select(i => i.Sequence));
        Assert.Equal(("W-6", 6L), (tail.AccountId, tail.Sequence));
        Assert.Equal(("W-7", 7L), (after.AccountId, after.Sequence));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => $"W-{i}"), everything.Select(i => i.AccountId));
        Assert.All(everything, i => Assert.Equal("BASE.address-book-blast", i.RuleId));
    }

    [Fact]
    public async Task AnIncidentStoredByAnotherWriter_ReachesTheWatchersOfItsLender_AndNoOther()
    {
        var platform = new RegistryService.RegistryServiceClient(_channel);
        await platform.CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = "other", DisplayName = "Other", CountryCode = "US" } },
            Bearer(Key("platform_admin")), cancellationToken: Ct);
        var otherOfficer = (await platform.CreateApiKeyAsync(new CreateApiKeyRequest { LenderId = "other", Role = Role.ComplianceOfficer },
            Bearer(Key("platform_admin")), cancellationToken: Ct)).Secret;
        using var demoWatch = Alerts.Watch(new WatchRequest(), Bearer(Key("compliance_officer")), cancellationToken: Ct);
        using var otherWatch = Alerts.Watch(new WatchRequest(), Bearer(otherOfficer), cancellationToken: Ct);
        await demoWatch.ResponseHeadersAsync;
        await otherWatch.ResponseHeadersAsync;

        // Another replica stores into the same database; the server hears nothing of it but what the table holds. The
        // embedded store refuses a second server process on its file, so the other writer is a store of its own on it.
        var now = DateTimeOffset.UtcNow;
        Storage.Incident Raised(string lender, string id) =>
            new(lender, id, "BASE.address-book-blast", "citation", Domain.Rules.Severity.Critical, "X-1", "collector-1", "raised elsewhere", ["e-1"], now, now, null, "", "");
        var elsewhere = new Storage.SqliteStore(Path.Combine(_dataDirectory, "compliance.db"));
        await elsewhere.RunIngestAsync(s => s.AddIncidentAsync(Raised("demo", "inc-elsewhere-demo")), Ct);
        await elsewhere.RunIngestAsync(s => s.AddIncidentAsync(Raised("other", "inc-elsewhere-other")), Ct);
        await elsewhere.DisposeAsync();
        var demoSees = await NextAsync(demoWatch);
        var otherSees = await NextAsync(otherWatch);
        // A local incident of the demo lender next: the other lender's watcher must not get it.
        await BlastAsync("T-1");
        var demoNext = await NextAsync(demoWatch);
        var otherList = await Alerts.ListIncidentsAsync(new ListIncidentsRequest(), Bearer(otherOfficer), cancellationToken: Ct);

        Assert.Equal(("inc-elsewhere-demo", 1L), (demoSees.IncidentId, demoSees.Sequence));
        Assert.Equal(("inc-elsewhere-other", 1L), (otherSees.IncidentId, otherSees.Sequence));
        Assert.Equal(("T-1", 2L), (demoNext.AccountId, demoNext.Sequence));
        Assert.Equal(["inc-elsewhere-other"], otherList.Incidents.Select(i => i.IncidentId));
        // The other lender's watch is still open and has nothing more: its next read waits (cancelled here), not T-1.
        using var shortWait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        shortWait.CancelAfter(TimeSpan.FromSeconds(1));
        var nothing = await Assert.ThrowsAnyAsync<Exception>(() => otherWatch.ResponseStream.MoveNext(shortWait.Token));
        Assert.True(nothing is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }, nothing.ToString());
    }

    [Fact]
    public async Task ANegativeAfterSequence_IsInvalidArgument_NamingTheField()
    {
        using var watch = Alerts.Watch(new WatchRequest { AfterSequence = -1 }, Bearer(Key("compliance_officer")), cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(Ct));

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal("after_sequence", Assert.Single(refused.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations).Field);
    }
}
