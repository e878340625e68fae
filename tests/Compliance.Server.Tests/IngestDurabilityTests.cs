using System.Text.Json;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;

namespace Compliance.Server.Tests;

/// <summary>
/// An acknowledged event and an answered gate decision are durable: the server process is killed and every one is
/// there after restart.
/// </summary>
public sealed class IngestDurabilityTests : IDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("compliance-durability-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Metadata Bearer()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "dev-keys.json")));
        return new Metadata { { "authorization", $"Bearer {document.RootElement.GetProperty("keys").GetProperty("collection_system").GetString()}" } };
    }

    [Fact]
    public async Task KillMidStream_EveryAcknowledgedEventSurvivesTheRestart()
    {
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, 50_000).Select(i => new Event
        {
            EventId = $"k{i}",
            AccountId = "K-1",
            CollectorId = "collector-1",
            OccurredAt = Timestamp.FromDateTimeOffset(now.AddMinutes(-30).AddMilliseconds(i)),
            Channel = Channel.Sms,
            Destination = new Destination { ContactPointId = "mobile" },
            MessageSent = new MessageSent { Body = "Payment reminder. Reply STOP to opt out." },
        }).ToList();
        var acknowledged = new List<string>();

        await using (var server = ServerProcess.Start(_dataDirectory))
        {
            await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            using var channel = GrpcChannel.ForAddress(server.Endpoint);
            await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account
                {
                    AccountId = "K-1",
                    Location = new Location { Region = "US-NY" },
                    ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Value = "+1 212 555 0134" } },
                },
            }, Bearer(), cancellationToken: Ct);

            using var call = new EventIngestService.EventIngestServiceClient(channel).Stream(Bearer(), cancellationToken: Ct);
            var reader = Task.Run(async () =>
            {
                try
                {
                    await foreach (var response in call.ResponseStream.ReadAllAsync(Ct))
                    {
                        lock (acknowledged)
                        {
                            acknowledged.AddRange(response.Acks.Where(a => a.Status == AckStatus.Accepted).Select(a => a.EventId));
                            if (acknowledged.Count >= 3_000 && !server.HasExited)
                            {
                                server.Kill(); // mid-stream, while batches are still in flight
                            }
                        }
                    }
                }
                catch (RpcException)
                {
                    // The connection dies with the process.
                }
            }, Ct);
            try
            {
                foreach (var chunk in events.Chunk(100))
                {
                    await call.RequestStream.WriteAsync(new StreamRequest { Events = { chunk } }, Ct);
                }
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
            {
            }

            await reader;
            Assert.True(acknowledged.Count < events.Count, "the server should have been killed mid-stream");
            Assert.Equal(137, await server.WaitForExitAsync(TimeSpan.FromSeconds(30))); // 128 + SIGKILL
        }

        Assert.InRange(acknowledged.Count, 3_000, events.Count - 1);
        await using (var restarted = ServerProcess.Start(_dataDirectory))
        {
            await restarted.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            using var channel = GrpcChannel.ForAddress(restarted.Endpoint);
            var resent = new List<EventAck>();
            using var call = new EventIngestService.EventIngestServiceClient(channel).Stream(Bearer(), cancellationToken: Ct);
            var reader = Task.Run(async () =>
            {
                await foreach (var response in call.ResponseStream.ReadAllAsync(Ct))
                {
                    resent.AddRange(response.Acks);
                }
            }, Ct);
            var acknowledgedIds = acknowledged.ToHashSet();
            foreach (var chunk in events.Where(e => acknowledgedIds.Contains(e.EventId)).Chunk(500))
            {
                await call.RequestStream.WriteAsync(new StreamRequest { Events = { chunk } }, Ct);
            }

            await call.RequestStream.CompleteAsync();
            await reader;

            Assert.Equal(acknowledged.Count, resent.Count);
            Assert.All(resent, a => Assert.Equal(AckStatus.Duplicate, a.Status));
        }
    }

    [Fact]
    public async Task AKill_WithGateDecisionsOnlyInTheJournal_LosesNone_AndEventsCanQuoteThemAfterRestart()
    {
        var answered = new List<(string Account, Decision Decision)>();
        await using (var server = ServerProcess.Start(_dataDirectory))
        {
            await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            using var channel = GrpcChannel.ForAddress(server.Endpoint);
            var registry = new RegistryService.RegistryServiceClient(channel);
            // Accounts in Great Britain: only the lender's own rules apply there, so the gate allows at any hour of the test.
            foreach (var id in new[] { "G-1", "G-2", "K-1" })
            {
                await registry.UpsertAccountAsync(new UpsertAccountRequest
                {
                    Account = new Account
                    {
                        AccountId = id,
                        Location = new Location { Region = "GB-LND" },
                        ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Value = "+44 7911 123456" } },
                    },
                }, Bearer(), cancellationToken: Ct);
            }

            // An ingest stream keeps the database's writer busy while the gate answers: the decisions are asked once its
            // first events are acknowledged, and the last ones together, with the server killed the moment they are answered.
            using var stream = new EventIngestService.EventIngestServiceClient(channel).Stream(Bearer(), cancellationToken: Ct);
            var now = DateTimeOffset.UtcNow;
            var flowing = new TaskCompletionSource();
            var accepted = 0;
            var acks = Task.Run(async () =>
            {
                try
                {
                    await foreach (var response in stream.ResponseStream.ReadAllAsync(Ct))
                    {
                        accepted += response.Acks.Count(a => a.Status == AckStatus.Accepted);
                        if (accepted > 0)
                        {
                            flowing.TrySetResult();
                        }
                    }
                }
                catch (RpcException)
                {
                }
            }, Ct);
            var ingest = Task.Run(async () =>
            {
                try
                {
                    for (var i = 0; i < 100; i++)
                    {
                        await stream.RequestStream.WriteAsync(new StreamRequest
                        {
                            Events =
                            {
                                Enumerable.Range(0, 1_000).Select(n => new Event
                                {
                                    EventId = $"g{i}-{n}", AccountId = "K-1", CollectorId = "collector-1", Channel = Channel.Sms,
                                    OccurredAt = Timestamp.FromDateTimeOffset(now.AddHours(-1).AddMilliseconds(i * 1_000 + n)),
                                    Destination = new Destination { ContactPointId = "mobile" },
                                    MessageSent = new MessageSent { Body = "Payment reminder." },
                                }),
                            },
                        }, Ct);
                    }
                }
                catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
                {
                    // The connection dies with the process.
                }
            }, Ct);
            await flowing.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);

            // From here the database refuses decisions (as a full or failing disk might, for one table): they can only
            // be in the journal when the server is killed, and the ingest goes on beside them.
            await ExecuteAsync("CREATE TRIGGER refuse_decisions BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'refused'); END;");

            var gate = new ContactGateService.ContactGateServiceClient(channel);
            for (var n = 0; n < 10; n++)
            {
                var account = n % 2 == 0 ? "G-1" : "G-2";
                answered.Add((account, (await gate.AuthorizeAsync(Call(account), Bearer(), cancellationToken: Ct)).Decision));
            }

            var last = await Task.WhenAll(Enumerable.Range(0, 10).Select(async n =>
            {
                var account = n % 2 == 0 ? "G-1" : "G-2";
                return (account, (await gate.AuthorizeAsync(Call(account), Bearer(), cancellationToken: Ct)).Decision);
            }));
            server.Kill(); // right after the last answer
            answered.AddRange(last);
            Assert.Equal(137, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            await Task.WhenAll(ingest, acks);
            Assert.InRange(accepted, 1, 99_999);
        }

        Assert.All(answered, a => Assert.Equal(Verdict.Allow, a.Decision.Verdict));
        await ExecuteAsync("DROP TRIGGER refuse_decisions;");
        await using (var restarted = ServerProcess.Start(_dataDirectory))
        {
            await restarted.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            Assert.Contains($"Writing {answered.Count} gate decisions left in the journal", restarted.Output);
            using var channel = GrpcChannel.ForAddress(restarted.Endpoint);
            var gate = new ContactGateService.ContactGateServiceClient(channel);
            foreach (var (_, decision) in answered)
            {
                var found = (await gate.GetDecisionAsync(new GetDecisionRequest { DecisionId = decision.DecisionId }, Bearer(), cancellationToken: Ct)).Decision;
                Assert.Equal((decision.DecisionId, Verdict.Allow), (found.DecisionId, found.Verdict));
            }

            // The calls the decisions allowed quote them, and take their reservations; a made-up decision id is caught.
            var placed = answered.Select((a, n) => Placed($"placed-{n}", a.Account, a.Decision.DecisionId)).Append(Placed("placed-made-up", "G-1", "dec_0000")).ToList();
            using var call = new EventIngestService.EventIngestServiceClient(channel).Stream(Bearer(), cancellationToken: Ct);
            await call.RequestStream.WriteAsync(new StreamRequest { Events = { placed } }, Ct);
            await call.RequestStream.CompleteAsync();
            var acks = new List<EventAck>();
            await foreach (var response in call.ResponseStream.ReadAllAsync(Ct))
            {
                acks.AddRange(response.Acks);
            }

            Assert.Equal(placed.Count, acks.Count);
            Assert.All(acks, a => Assert.Equal(AckStatus.Accepted, a.Status));
            Assert.All(acks.SkipLast(1), a => Assert.DoesNotContain(a.Violations, v => v.Rule.RuleId == "INGEST.unknown-decision"));
            Assert.Contains(acks[^1].Violations, v => v.Rule.RuleId == "INGEST.unknown-decision");
        }

        static AuthorizeRequest Call(string account) => new()
        {
            Contact = new ContactRequest { AccountId = account, CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = new Destination { ContactPointId = "mobile" } },
        };

        static Event Placed(string id, string account, string decisionId) => new()
        {
            EventId = id, DecisionId = decisionId, AccountId = account, CollectorId = "collector-1", Channel = Channel.VoiceCall,
            OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Destination = new Destination { ContactPointId = "mobile" },
            CallPlaced = new CallPlaced { CallId = "call-" + id },
        };
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "compliance.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}
