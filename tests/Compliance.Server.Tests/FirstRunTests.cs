using Compliance.Api.V1;
using Grpc.Core;

namespace Compliance.Server.Tests;

/// <summary>What a new user reads first: error wording, counts, windows and the evidence timeline.</summary>
public sealed class FirstRunTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AKeyWithoutBearer_IsReportedAsSuch_NotAsAnUnknownKey()
    {
        await using var server = new GateFixture();
        var headers = new Metadata { { "authorization", server.Keys.Auditor } };

        var error = await Assert.ThrowsAsync<RpcException>(() => new RegistryService.RegistryServiceClient(server.Channel(null))
            .GetLenderAsync(new GetLenderRequest(), headers, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("Bearer", error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheScoresWindow_EndsNow()
    {
        await using var server = new GateFixture();

        var scores = await new ReportService.ReportServiceClient(server.Channel(server.Keys.ComplianceOfficer))
            .GetConductScoresAsync(new GetConductScoresRequest { Scope = ScoreScope.Collector }, cancellationToken: Ct);

        Assert.Equal(GateFixture.Start, scores.WindowEnd.ToDateTimeOffset());
        Assert.Equal(GateFixture.Start.AddDays(-30), scores.WindowStart.ToDateTimeOffset());
    }

    [Fact]
    public async Task TheEvidenceTimeline_CountsInWords_NamesThingsReadably_AndListsIncidents()
    {
        await using var server = new GateFixture();
        var system = server.Channel(server.Keys.CollectionSystem);
        await new RegistryService.RegistryServiceClient(system).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "fr-1",
                BorrowerName = "Li Wei",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Value = "+86 138 0013 8000" } },
            },
        }, cancellationToken: Ct);
        await new ContactGateService.ContactGateServiceClient(system).AuthorizeAsync(new AuthorizeRequest
        {
            Contact = new ContactRequest { AccountId = "fr-1", CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = new Destination { ContactPointId = "mobile" } },
        }, cancellationToken: Ct);
        // Four numbers from the address book within minutes: an address-book blast, raised as an incident.
        await EventIngestTests.StreamAsync(new EventIngestService.EventIngestServiceClient(system), Enumerable.Range(0, 4)
            .Select(i => EventIngestTests.Placed($"fr-e{i}", "fr-1", GateFixture.Start.AddMinutes(-10 + i), new Destination { PhoneNumber = $"+86 139 0000 00{i:00}" }))
            .ToList());

        var bundle = await EvidenceBundle.DownloadAsync(new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor)), new ExportEvidenceRequest { AccountId = "fr-1" });
        var html = bundle.Read("summary.html");

        Assert.Contains("1 gate decision,", html, StringComparison.Ordinal);
        Assert.Contains("4 reported events", html, StringComparison.Ordinal);
        Assert.Contains("Call placed (voice call)", html, StringComparison.Ordinal);
        Assert.DoesNotContain("(s)", html, StringComparison.Ordinal);
        Assert.DoesNotContain("VoiceCall", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Incidents</h2>", html, StringComparison.Ordinal);
        Assert.Contains("BASE.address-book-blast", html, StringComparison.Ordinal);
    }
}
