using System.Text.Json;
using Compliance.Api.V1;
using Compliance.Storage.Tests;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compliance.Server.Tests;

/// <summary>
/// Two server processes on one SQL Server database, as two replicas run: a watcher of one sees the incidents raised
/// through the other and resumes through either without loss, and a collector deactivated through one binds the
/// other's next decision although the other has it cached. Skipped, with the reason, where no container engine runs.
/// </summary>
public sealed class SqlServerReplicaServerTests(SqlServerContainerFixture fixture) : IClassFixture<SqlServerContainerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    private async Task RunOnTwoReplicasAsync(Func<GrpcChannel, GrpcChannel, Func<string, string>, Task> test)
    {
        var database = await fixture.NewDatabaseAsync();
        var directory = Directory.CreateTempSubdirectory("compliance-replicas-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["COMPLIANCE__STORE__PROVIDER"] = "SqlServer",
            ["COMPLIANCE__STORE__CONNECTIONSTRING"] = database,
            ["COMPLIANCE__REPORTS__SCHEDULE"] = "false",
            ["COMPLIANCE__ALERTS__POLLINTERVAL"] = "00:00:00.200",
        };
        try
        {
            // The first replica creates the schema and the demo lender (writing its keys); the second finds both.
            await using var first = ServerProcess.Start(directory, environment);
            await first.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            var keys = await KeysAsync(directory);
            await using var second = ServerProcess.Start(directory, environment);
            await second.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            using var channelA = GrpcChannel.ForAddress(first.Endpoint);
            using var channelB = GrpcChannel.ForAddress(second.Endpoint);
            await test(channelA, channelB, role => keys.GetProperty(role).GetString()!);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AWatcherOfOneReplica_SeesTheIncidentsRaisedThroughTheOther_AndResumesThroughEitherWithoutLoss()
    {
        await RunOnTwoReplicasAsync(async (a, b, key) =>
        {
            var officer = Bearer(key("compliance_officer"));
            var system = Bearer(key("collection_system"));
            var first = new List<Incident>();
            using (var watch = new AlertService.AlertServiceClient(b).Watch(new WatchRequest(), officer, cancellationToken: Ct))
            {
                await watch.ResponseHeadersAsync;
                await BlastAsync(a, system, "R-1");
                first.Add(await NextAsync(watch));
                await BlastAsync(b, system, "R-2");
                first.Add(await NextAsync(watch));
            }

            await BlastAsync(a, system, "R-3");
            await BlastAsync(b, system, "R-4");
            using var resumed = new AlertService.AlertServiceClient(a).Watch(new WatchRequest { AfterSequence = first[^1].Sequence }, officer, cancellationToken: Ct);
            var missed = new List<Incident> { await NextAsync(resumed), await NextAsync(resumed) };
            await BlastAsync(b, system, "R-5");
            var tail = await NextAsync(resumed);

            Assert.Equal([("R-1", 1L), ("R-2", 2L)], first.Select(i => (i.AccountId, i.Sequence)));
            Assert.Equal([("R-3", 3L), ("R-4", 4L)], missed.Select(i => (i.AccountId, i.Sequence)));
            Assert.Equal(("R-5", 5L), (tail.AccountId, tail.Sequence));
        });
    }

    [Fact]
    public async Task ACollectorDeactivatedThroughOneReplica_BindsTheOthersNextDecision_ThoughItIsCachedThere()
    {
        await RunOnTwoReplicasAsync(async (a, b, key) =>
        {
            var system = Bearer(key("collection_system"));
            await RegisterAsync(a, system, "G-1");
            var gate = new ContactGateService.ContactGateServiceClient(b);
            var call = new ContactRequest { AccountId = "G-1", CollectorId = "collector-1", Channel = Channel.Sms, Destination = new Destination { ContactPointId = "mobile" } };
            var cached = (await gate.AuthorizeAsync(new AuthorizeRequest { Contact = call }, system, cancellationToken: Ct)).Decision;

            await new RegistryService.RegistryServiceClient(a).UpsertCollectorAsync(new UpsertCollectorRequest
            {
                Collector = new Collector { CollectorId = "collector-1", AgencyId = "in-house", DisplayName = "Demo collector", Kind = CollectorKind.Human, Active = false },
            }, Bearer(key("administrator")), cancellationToken: Ct);
            var next = (await gate.AuthorizeAsync(new AuthorizeRequest { Contact = call }, system, cancellationToken: Ct)).Decision;

            Assert.DoesNotContain(cached.Rules, r => r.RuleId == "BASE.collector-inactive");
            Assert.Equal(Verdict.Deny, next.Verdict);
            Assert.Contains(next.Rules, r => r.RuleId == "BASE.collector-inactive");
        });
    }

    private static Task RegisterAsync(GrpcChannel channel, Metadata system, string accountId) => WatchScenario.RegisterAsync(channel, system, accountId);

    private static Task BlastAsync(GrpcChannel channel, Metadata system, string accountId) => WatchScenario.BlastAsync(channel, system, accountId);

    private static Task<Incident> NextAsync(AsyncServerStreamingCall<WatchResponse> watch) => WatchScenario.NextAsync(watch);

    private static async Task<JsonElement> KeysAsync(string directory)
    {
        var file = Path.Combine(directory, Infrastructure.Startup.KeyFileName);
        for (var i = 0; i < 600 && !File.Exists(file); i++)
        {
            await Task.Delay(100, Ct);
        }

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(file, Ct));
        return document.RootElement.GetProperty("keys").Clone();
    }
}
