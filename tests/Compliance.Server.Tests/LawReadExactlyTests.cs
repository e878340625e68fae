using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Server.Tests;

/// <summary>
/// The law read exactly, end to end over gRPC with the server's clock pinned (Friday 2026-11-27 08:59 in New York):
/// calendar days, every possible zone, US location calls, and the New York City, California and Washington profiles.
/// </summary>
public sealed class LawReadExactlyTests
{
    private static readonly TimeSpan NewYork = TimeSpan.FromHours(-5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static RegistryService.RegistryServiceClient Registry(GateFixture server) => new(server.Channel(server.Keys.CollectionSystem));

    private static ContactGateService.ContactGateServiceClient Gate(GateFixture server) => new(server.Channel(server.Keys.CollectionSystem));

    private static Destination Mobile => new() { ContactPointId = "mobile" };

    private static Task UpsertAsync(GateFixture server, string id, Location location, params Party[] parties) =>
        Registry(server).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = id,
                BorrowerName = "Jane Roe",
                Location = location,
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+1 212 555 0134" } },
                Parties = { parties },
            },
        }, cancellationToken: Ct).ResponseAsync;

    private static ContactRequest Contact(string account, Destination destination, Channel channel = Channel.VoiceCall, ContactPurpose purpose = ContactPurpose.CollectDebt) => new()
    {
        AccountId = account,
        CollectorId = "collector-1",
        Channel = channel,
        Purpose = purpose,
        Destination = destination,
    };

    private static async Task<Decision> EvaluateAsync(GateFixture server, ContactRequest contact, DateTimeOffset at) =>
        (await Gate(server).EvaluateAsync(new EvaluateRequest { Contacts = { contact }, At = Timestamp.FromDateTimeOffset(at) }, cancellationToken: Ct)).Decisions.Single();

    private static async Task<Decision> AuthorizeAsync(GateFixture server, ContactRequest contact) =>
        (await Gate(server).AuthorizeAsync(new AuthorizeRequest { Contact = contact }, cancellationToken: Ct)).Decision;

    [Fact]
    public async Task SevenCallsInSevenDays_CountCalendarDays_SoDay8OpensAt0800WhateverTheFirstCallsClockTime()
    {
        await using var server = new GateFixture();
        await UpsertAsync(server, "US-1", new Location { Region = "US-NY" });
        // 12 CFR 1006.14(b)(2)(i)(A): the first call at 20:30 on Thursday 19 November is day 1; six more on days 2 to 7.
        var first = new DateTimeOffset(2026, 11, 19, 20, 30, 0, NewYork);
        var calls = new List<Event> { EventIngestTests.Placed("c0", "US-1", first, Mobile) };
        calls.AddRange(Enumerable.Range(1, 6).Select(i => EventIngestTests.Placed($"c{i}", "US-1", new DateTimeOffset(2026, 11, 19 + i, 10, 0, 0, NewYork), Mobile)));
        using (var import = new EventIngestService.EventIngestServiceClient(server.Channel(server.Keys.CollectionSystem)).ImportHistory(cancellationToken: Ct))
        {
            await import.RequestStream.WriteAsync(new ImportHistoryRequest { Events = { calls } }, Ct);
            await import.RequestStream.CompleteAsync();
            Assert.Equal(7, (await import).Imported);
        }

        var lateOnDay7 = await EvaluateAsync(server, Contact("US-1", Mobile), new DateTimeOffset(2026, 11, 25, 20, 45, 0, NewYork));
        // Less than 7 x 24 hours after the first call, but on day 8: a 168-hour window would still deny.
        var day8 = await EvaluateAsync(server, Contact("US-1", Mobile), new DateTimeOffset(2026, 11, 26, 8, 0, 0, NewYork));

        Assert.Equal(Verdict.Deny, lateOnDay7.Verdict);
        Assert.Equal("US-REGF.call-frequency", Assert.Single(lateOnDay7.Rules).RuleId);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 8, 0, 0, NewYork), lateOnDay7.NextAllowedAt.ToDateTimeOffset());
        Assert.Equal(Verdict.Allow, day8.Verdict);
    }

    [Fact]
    public async Task EasternMobileAndPacificAddress_AllowOnly1100To2100Eastern_AndTheDecisionSaysWhy()
    {
        await using var server = new GateFixture();
        // A Washington address (Pacific) and a New York mobile (Eastern): comment 6(b)(1)(i)-2.
        await UpsertAsync(server, "WA-1", new Location { Region = "US-WA" });

        var at1030 = await EvaluateAsync(server, Contact("WA-1", Mobile), new DateTimeOffset(2026, 11, 27, 10, 30, 0, NewYork));
        var at1100 = await EvaluateAsync(server, Contact("WA-1", Mobile), new DateTimeOffset(2026, 11, 27, 11, 0, 0, NewYork));

        Assert.Equal(Verdict.Deny, at1030.Verdict);
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 11, 0, 0, NewYork), at1030.NextAllowedAt.ToDateTimeOffset());
        var window = at1030.HoursWindow;
        Assert.Equal("11:00-21:00", window.EffectiveLocal);
        Assert.Equal("America/New_York", window.EffectiveZone);
        Assert.Equal(8 * 60, window.LocalWindow.StartMinute);
        Assert.Equal(21 * 60, window.LocalWindow.EndMinute);
        Assert.Contains("US-REGF.hours", window.RuleIds);
        Assert.Equal(
            [("America/New_York", ZoneSource.Destination), ("America/Los_Angeles", ZoneSource.Region)],
            window.Zones.Select(z => (z.TimeZone, z.Source)));
        var rule = Assert.Single(at1030.Rules);
        Assert.Equal("US-REGF.hours", rule.RuleId);
        Assert.Equal("11:00-21:00", rule.HoursWindow.EffectiveLocal);
        Assert.Equal(Verdict.Allow, at1100.Verdict);
        Assert.Equal("11:00-21:00", at1100.HoursWindow.EffectiveLocal);
    }

    [Fact]
    public async Task TheHoursWindowOfAGateDecision_IsInTheEvidenceTimeline()
    {
        await using var server = new GateFixture();
        await UpsertAsync(server, "WA-1", new Location { Region = "US-WA" });

        var at0859 = await AuthorizeAsync(server, Contact("WA-1", Mobile)); // 08:59 in New York, 05:59 in Seattle
        var zip = await EvidenceBundle.DownloadAsync(new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor)),
            new ExportEvidenceRequest { AccountId = "WA-1" });
        var html = zip.Read("summary.html");

        Assert.Equal(Verdict.Deny, at0859.Verdict);
        Assert.Contains("in all of them: 11:00-21:00 America/New_York", html, StringComparison.Ordinal);
        Assert.Contains("America/Los_Angeles (Region US-WA)", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AZoneTheBorrowerConfirmed_DecidesLocalTimeAlone_AndIsKept()
    {
        await using var server = new GateFixture();
        await UpsertAsync(server, "WA-1", new Location { Region = "US-WA", TimeZone = "America/Los_Angeles" });
        var unconfirmed = await EvaluateAsync(server, Contact("WA-1", Mobile), new DateTimeOffset(2026, 11, 27, 10, 30, 0, NewYork));
        await UpsertAsync(server, "WA-1", new Location { Region = "US-WA", TimeZone = "America/Los_Angeles", TimeZoneConfirmed = true });

        var confirmed = await EvaluateAsync(server, Contact("WA-1", Mobile), new DateTimeOffset(2026, 11, 27, 21, 30, 0, NewYork));
        var account = (await Registry(server).GetAccountAsync(new GetAccountRequest { AccountId = "WA-1" }, cancellationToken: Ct)).Account;

        Assert.Equal(Verdict.Deny, unconfirmed.Verdict);
        Assert.Contains(unconfirmed.HoursWindow.Zones, z => z.Source == ZoneSource.AccountZone);
        Assert.Equal(Verdict.Allow, confirmed.Verdict);
        var zone = Assert.Single(confirmed.HoursWindow.Zones);
        Assert.Equal(("America/Los_Angeles", ZoneSource.ConfirmedAccountZone), (zone.TimeZone, zone.Source));
        Assert.True(account.Location.TimeZoneConfirmed);
    }

    [Fact]
    public async Task UsLocationCall_NeedsNoLostBorrower_IsAllowedOncePerPerson_AndNeverToCollect()
    {
        await using var server = new GateFixture();
        var friend = new Party { PartyId = "friend", Role = PartyRole.Friend, ContactPoints = { new ContactPoint { ContactPointId = "friend-mobile", Kind = ContactPointKind.Phone, Value = "+1 212 555 0199" } } };
        await UpsertAsync(server, "US-1", new Location { Region = "US-NY" }, friend);
        var toFriend = new Destination { ContactPointId = "friend-mobile" };
        // The borrower is reachable (a valid number, no failed attempts): China's lost test would deny; 12 CFR 1006.10 does not.
        var first = await AuthorizeAsync(server, Contact("US-1", toFriend, purpose: ContactPurpose.LocateBorrower));
        var again = await AuthorizeAsync(server, Contact("US-1", toFriend, purpose: ContactPurpose.LocateBorrower));
        var collect = await AuthorizeAsync(server, Contact("US-1", toFriend, purpose: ContactPurpose.CollectDebt));
        await Registry(server).SetFlagAsync(new SetFlagRequest { AccountId = "US-1", Flag = new Flag { Type = FlagType.AttorneyRepresented } }, cancellationToken: Ct);
        await UpsertAsync(server, "US-1", new Location { Region = "US-NY" }, friend,
            new Party { PartyId = "colleague", Role = PartyRole.Colleague, ContactPoints = { new ContactPoint { ContactPointId = "colleague-mobile", Kind = ContactPointKind.Phone, Value = "+1 212 555 0188" } } });
        var withAttorney = await AuthorizeAsync(server, Contact("US-1", new Destination { ContactPointId = "colleague-mobile" }, purpose: ContactPurpose.LocateBorrower));

        Assert.Equal(Verdict.Allow, first.Verdict);
        Assert.Equal(Verdict.Deny, again.Verdict);
        Assert.Equal("12 CFR 1006.10(c)", Assert.Single(again.Rules).Citation);
        Assert.Contains(collect.Rules, r => r.RuleId == "US-REGF.third-parties");
        Assert.Contains(collect.Rules, r => r.RuleId == "BASE.third-parties");
        Assert.Contains(withAttorney.Rules, r => r.RuleId == "US-REGF.location-attorney" && r.Citation == "12 CFR 1006.10(b)(5)");
    }

    [Fact]
    public async Task NewYorkCityBorrower_ByZipCode_GetsTextsOnlyWithWrittenConsent()
    {
        await using var server = new GateFixture();
        await UpsertAsync(server, "NYC-1", new Location { Region = "US-NY", PostalCode = "10025" });
        await UpsertAsync(server, "BUF-1", new Location { Region = "US-NY", PostalCode = "14201" });
        var noon = new DateTimeOffset(2026, 11, 27, 12, 0, 0, NewYork);

        var withoutConsent = await EvaluateAsync(server, Contact("NYC-1", Mobile, Channel.Sms), noon);
        var buffalo = await EvaluateAsync(server, Contact("BUF-1", Mobile, Channel.Sms), noon);
        await Registry(server).SetFlagAsync(new SetFlagRequest
        {
            AccountId = "NYC-1",
            Flag = new Flag { Type = FlagType.WrittenElectronicConsent, Channel = Channel.Sms, EffectiveFrom = Timestamp.FromDateTimeOffset(noon.AddDays(-1)) },
        }, cancellationToken: Ct);
        var withConsent = await EvaluateAsync(server, Contact("NYC-1", Mobile, Channel.Sms), noon);

        Assert.Equal(Verdict.Deny, withoutConsent.Verdict);
        Assert.Contains("US-NYC", withoutConsent.Profiles);
        Assert.Equal("US-NYC.electronic-consent", Assert.Single(withoutConsent.Rules).RuleId);
        Assert.Equal(Verdict.Allow, buffalo.Verdict);
        Assert.DoesNotContain("US-NYC", buffalo.Profiles);
        Assert.Equal(Verdict.Allow, withConsent.Verdict);
    }

    [Fact]
    public async Task CaliforniaAndWashington_ProfilesApplyByLocation_WithTheirCitations()
    {
        await using var server = new GateFixture();
        await UpsertAsync(server, "CA-1", new Location { Region = "US-CA" });
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.CollectionSystem));

        var late = await EvaluateAsync(server, Contact("CA-1", Mobile), new DateTimeOffset(2026, 11, 28, 0, 30, 0, NewYork)); // 21:30 Pacific
        var profiles = (await policies.ListProfilesAsync(new ListProfilesRequest(), cancellationToken: Ct)).Profiles;

        Assert.Equal(Verdict.Deny, late.Verdict);
        Assert.Contains(late.Rules, r => r.RuleId == "US-CA.hours" && r.Citation.StartsWith("Cal. Civ. Code 1788.17", StringComparison.Ordinal));
        Assert.Contains(late.Rules, r => r.RuleId == "US-REGF.hours");
        Assert.Contains(profiles, p => p.ProfileId == "US-NYC" && p.PostalCodes.Contains("10025"[..3]));
        Assert.Contains(profiles.Single(p => p.ProfileId == "US-WA").Rules, r => r.RuleId == "US-WA.home-hours" && r.Citation == "RCW 19.16.250(13)");
    }
}
