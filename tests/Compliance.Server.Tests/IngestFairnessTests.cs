using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Server.Tests;

/// <summary>
/// Fair ingest between lenders and between a lender's streams, end to end over gRPC: one stream's backlog does not
/// hold back another lender's acknowledgement, nor one of another stream of the same lender. Measured by how many of
/// the flooding stream's requests were acknowledged meanwhile, not by time.
/// </summary>
public sealed class IngestFairnessTests
{
    private const int FloodRequests = 60;
    private const int EventsPerRequest = 100;
    /// <summary>
    /// What may come between: the batches already scored or being written when the other lender's request arrives (one
    /// being scored, two waiting, one being written), one more of the flood served before it in turn, and acks the
    /// flooding client had not yet read. Served in arrival order instead, it waited for the whole backlog (about 30: a
    /// stream keeps up to 32 requests in flight).
    /// </summary>
    private const int MaxFloodAcksBetween = 10;

    private static readonly DateTimeOffset T0 = GateFixture.Start;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OneLendersBacklog_DoesNotHoldBackAnotherLendersAcknowledgement()
    {
        // One request per group commit, so the flood is a backlog of many commits.
        await using var server = new GateFixture(("Compliance:Ingest:MaxBatch", EventsPerRequest.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var platform = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.PlatformAdmin));
        await platform.CreateLenderAsync(new CreateLenderRequest { Lender = new Lender { LenderId = "other", DisplayName = "Other", CountryCode = "CN" } }, cancellationToken: Ct);
        var otherKey = (await platform.CreateApiKeyAsync(new CreateApiKeyRequest { LenderId = "other", Role = Role.CollectionSystem }, cancellationToken: Ct)).Secret;
        var other = server.Channel(otherKey);
        await new RegistryService.RegistryServiceClient(other).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account { AccountId = "CN-1", BorrowerId = "borrower-cn", Location = new Location { Region = "CN-GD" } },
        }, cancellationToken: Ct);

        await FloodBesideOneEventAsync(server, other, "CN-1");
    }

    [Fact]
    public async Task OneStreamsBacklog_DoesNotHoldBackAnotherStreamOfTheSameLender()
    {
        await using var server = new GateFixture(("Compliance:Ingest:MaxBatch", EventsPerRequest.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var sameLender = server.Channel(server.Keys.CollectionSystem);
        await new RegistryService.RegistryServiceClient(sameLender).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account { AccountId = "US-2", BorrowerId = "borrower-2", Location = new Location { Region = "US-TX" } },
        }, cancellationToken: Ct);

        await FloodBesideOneEventAsync(server, sameLender, "US-2");
    }

    /// <summary>
    /// Floods the demo lender's ingest from one stream with requests about one borrower whose history grows with each
    /// (texts within the last hours); once the flood is being served, sends one event about <paramref name="account"/>
    /// on a new stream over <paramref name="channel"/> and counts the flood's acknowledgements until it is answered.
    /// </summary>
    private static async Task FloodBesideOneEventAsync(GateFixture server, Grpc.Net.Client.GrpcChannel channel, string account)
    {
        var flooder = server.Channel(server.Keys.CollectionSystem);
        await new RegistryService.RegistryServiceClient(flooder).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "US-1",
                BorrowerId = "borrower-1",
                Location = new Location { Region = "US-NY" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+1 212 555 0134" } },
            },
        }, cancellationToken: Ct);

        var floodAcked = 0;
        using var flood = new EventIngestService.EventIngestServiceClient(flooder).Stream(cancellationToken: Ct);
        var firstAck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var floodReading = Task.Run(async () =>
        {
            await foreach (var response in flood.ResponseStream.ReadAllAsync(Ct))
            {
                Assert.All(response.Acks, a => Assert.Equal(AckStatus.Accepted, a.Status));
                Interlocked.Increment(ref floodAcked);
                firstAck.TrySetResult();
            }
        }, Ct);
        var sending = Task.Run(async () =>
        {
            for (var r = 0; r < FloodRequests; r++)
            {
                var request = new StreamRequest();
                for (var i = 0; i < EventsPerRequest; i++)
                {
                    var n = (r * EventsPerRequest) + i;
                    request.Events.Add(new Event
                    {
                        EventId = $"flood-{n}",
                        AccountId = "US-1",
                        CollectorId = "collector-1",
                        OccurredAt = Timestamp.FromDateTimeOffset(T0.AddHours(-5).AddSeconds(n)),
                        Channel = Channel.Sms,
                        Destination = new Destination { ContactPointId = "mobile" },
                        MessageSent = new MessageSent { Body = "Please call us about your account. Reply STOP to opt out." },
                    });
                }

                await flood.RequestStream.WriteAsync(request, Ct);
            }

            await flood.RequestStream.CompleteAsync();
        }, Ct);

        // Once the flood is being served, the other stream sends one event.
        await firstAck.Task.WaitAsync(Ct);
        var ackedWhenSent = Volatile.Read(ref floodAcked);
        using var single = new EventIngestService.EventIngestServiceClient(channel).Stream(cancellationToken: Ct);
        await single.RequestStream.WriteAsync(new StreamRequest
        {
            Events = { new Event { EventId = "one", AccountId = account, OccurredAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(-1)), InboundCall = new InboundCall { CallId = "in-1" } } },
        }, Ct);
        Assert.True(await single.ResponseStream.MoveNext(Ct));
        var ackedWhenAnswered = Volatile.Read(ref floodAcked);
        await single.RequestStream.CompleteAsync();

        Assert.Equal(AckStatus.Accepted, Assert.Single(single.ResponseStream.Current.Acks).Status);
        Assert.True(ackedWhenAnswered - ackedWhenSent <= MaxFloodAcksBetween,
            $"{ackedWhenAnswered - ackedWhenSent} of the flood's requests were acknowledged before the other stream's one (at most {MaxFloodAcksBetween})");
        Assert.True(ackedWhenAnswered < FloodRequests, "the other stream's event waited for the whole flood");

        await sending;
        await floodReading;
        Assert.Equal(FloodRequests, floodAcked);
    }
}
