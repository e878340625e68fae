using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compliance.Server.Tests;

/// <summary>What the Watch tests do over a channel, on one server or across replicas: register, blast, read the next incident.</summary>
internal static class WatchScenario
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A US account with a registered mobile.</summary>
    public static async Task RegisterAsync(GrpcChannel channel, Metadata system, string accountId) =>
        await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = accountId,
                Location = new Location { Region = "US-NY" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+1 212 555 0134" } },
            },
        }, system, cancellationToken: Ct);

    /// <summary>
    /// A new account, and four texts about it to four numbers it does not list, a minute apart: one address-book blast,
    /// one incident. Returns the acknowledgement of the four.
    /// </summary>
    public static async Task<StreamResponse> BlastAsync(GrpcChannel channel, Metadata system, string accountId)
    {
        await RegisterAsync(channel, system, accountId);
        var at = DateTimeOffset.UtcNow.AddMinutes(-30);
        using var stream = new EventIngestService.EventIngestServiceClient(channel).Stream(system, cancellationToken: Ct);
        await stream.RequestStream.WriteAsync(new StreamRequest
        {
            Events =
            {
                Enumerable.Range(0, 4).Select(i => new Event
                {
                    EventId = $"{accountId}-{i}", AccountId = accountId, CollectorId = "collector-1", Channel = Channel.Sms,
                    OccurredAt = Timestamp.FromDateTimeOffset(at.AddMinutes(i)),
                    Destination = new Destination { PhoneNumber = $"+1 646 555 01{i:00}" },
                    MessageSent = new MessageSent { Body = "Please ask Jane to call us back." },
                }),
            },
        }, Ct);
        Assert.True(await stream.ResponseStream.MoveNext(Ct));
        var acknowledged = stream.ResponseStream.Current;
        await stream.RequestStream.CompleteAsync();
        return acknowledged;
    }

    /// <summary>The watch's next incident, within 30 seconds.</summary>
    public static async Task<Incident> NextAsync(AsyncServerStreamingCall<WatchResponse> watch)
    {
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        patience.CancelAfter(TimeSpan.FromSeconds(30));
        Assert.True(await watch.ResponseStream.MoveNext(patience.Token));
        return watch.ResponseStream.Current.Incident;
    }
}
