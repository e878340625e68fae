using System.Text.Json;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;

namespace Compliance.Server.Tests;

/// <summary>An acknowledged event is durable: the server process is killed mid-stream and every acknowledged event is there after restart.</summary>
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

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}
