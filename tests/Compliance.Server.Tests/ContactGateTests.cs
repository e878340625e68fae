using Compliance.Api.V1;
using Compliance.Server.Gate;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Compliance.Server.Tests;

/// <summary>
/// The contact gate end to end over gRPC, with the server's clock pinned: the scenarios a dialer meets first.
/// Each test starts its own server so the clock only moves forward within a test.
/// </summary>
public sealed class ContactGateTests
{
    private static readonly DateTimeOffset T0 = GateFixture.Start;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(GateFixture Server, ContactGateService.ContactGateServiceClient Gate)> StartAsync()
    {
        var server = new GateFixture();
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem));
        await registry.UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "US-1",
                BorrowerName = "Jane Roe",
                Location = new Location { Region = "US-NY" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+1 212 555 0134" } },
                Parties = { new Party { PartyId = "friend", Role = PartyRole.Friend, ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = "+1 212 555 0199" } } } },
            },
        }, cancellationToken: Ct);
        await registry.UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "CN-1",
                BorrowerName = "Li Wei",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
            },
        }, cancellationToken: Ct);
        return (server, new ContactGateService.ContactGateServiceClient(server.Channel(server.Keys.CollectionSystem)));
    }

    private static ContactRequest Call(string account, Destination destination) => new()
    {
        AccountId = account,
        CollectorId = "collector-1",
        Channel = Channel.VoiceCall,
        Destination = destination,
    };

    private static Destination Own => new() { ContactPointId = "mobile" };

    private static async Task<Decision> AuthorizeAsync(ContactGateService.ContactGateServiceClient gate, ContactRequest contact) =>
        (await gate.AuthorizeAsync(new AuthorizeRequest { Contact = contact }, cancellationToken: Ct)).Decision;

    [Fact]
    public async Task UnknownNumber_IsDenied_WithTheThirdPartyRuleAndCitation()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        var decision = await AuthorizeAsync(gate, Call("US-1", new Destination { PhoneNumber = "+1 212 555 0177" }));

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Equal(DestinationClass.Unknown, decision.DestinationClass);
        var rule = Assert.Single(decision.Rules, r => r.RuleId == "US-REGF.third-parties");
        Assert.Equal("12 CFR 1006.6(d)", rule.Citation);
        Assert.Equal(Severity.Critical, rule.Severity);
        Assert.Null(decision.NextAllowedAt);
    }

    [Fact]
    public async Task RegisteredFriend_ToCollectTheDebt_IsDenied()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        var decision = await AuthorizeAsync(gate, Call("US-1", new Destination { PhoneNumber = "(212) 555-0199" }));

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Equal(DestinationClass.UnrelatedParty, decision.DestinationClass);
        Assert.Contains(decision.Rules, r => r.RuleId == "US-REGF.third-parties");
    }

    [Fact]
    public async Task AddressBook_AFourthThirdPartyInADay_IsDenied_UntilTheFirstLeavesTheWindow()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        // A lost borrower (the only number is invalid) in Ireland: asking four of the address book where they are.
        var parties = Enumerable.Range(1, 4).Select(i => new Party
        {
            PartyId = $"contact-{i}",
            Role = PartyRole.Friend,
            ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = $"+353 85 555 010{i}" } },
        });
        await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem)).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "IE-1",
                BorrowerName = "Sean Murphy",
                Location = new Location { CountryCode = "IE", TimeZone = "Europe/Dublin" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+353 85 555 0100", Invalid = true } },
                Parties = { parties },
            },
        }, cancellationToken: Ct);
        var decisions = new List<Decision>();
        for (var i = 1; i <= 4; i++)
        {
            // Within the reservations' life: an allowed contact not confirmed in time is released, and no longer counts.
            server.Clock.Advance(TimeSpan.FromSeconds(30));
            decisions.Add(await AuthorizeAsync(gate, LocateCall("IE-1", $"+353 85 555 010{i}")));
        }

        Assert.Equal([Verdict.Allow, Verdict.Allow, Verdict.Allow, Verdict.Deny], decisions.Select(d => d.Verdict));
        var rule = Assert.Single(decisions[3].Rules);
        Assert.Equal("BASE.address-book-blast", rule.RuleId);
        Assert.Equal(Severity.Critical, rule.Severity);
        Assert.False(string.IsNullOrWhiteSpace(rule.Citation));
        Assert.Equal(T0.AddSeconds(30).AddHours(24), decisions[3].NextAllowedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task ChineseAccount_ListingThreeEmergencyContacts_HasNoneCalled_UntilTheLenderCorrectsIt()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        await RegisterLostChineseBorrowerAsync(server, contacts: 3);
        var listingThree = await AuthorizeAsync(gate, LocateCall("CN-2", "+86 139 0013 8001"));
        await RegisterLostChineseBorrowerAsync(server, contacts: 2);
        var listingTwo = await AuthorizeAsync(gate, LocateCall("CN-2", "+86 139 0013 8001"));

        Assert.Equal(Verdict.Deny, listingThree.Verdict);
        var rule = Assert.Single(listingThree.Rules);
        Assert.Equal("CN.borrower-supplied-contacts", rule.RuleId);
        Assert.Contains("2021", rule.Citation, StringComparison.Ordinal);
        Assert.Contains("lists 3 unrelated third parties", rule.Message, StringComparison.Ordinal);
        Assert.Null(listingThree.NextAllowedAt);
        Assert.Equal(Verdict.Allow, listingTwo.Verdict);
    }

    [Fact]
    public async Task ChineseBorrower_WithTwoContactsOnEachOfTwoDebts_HasNoneCalled_UnlessTheyAreTheSamePeople()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        await RegisterLostChineseBorrowerAsync(server, contacts: 2);
        await RegisterLostChineseBorrowerAsync(server, contacts: 2, account: "CN-3", first: 3);
        var fourPeople = await AuthorizeAsync(gate, LocateCall("CN-2", "+86 139 0013 8001"));
        var streamed = await EventIngestTests.StreamAsync(new EventIngestService.EventIngestServiceClient(server.Channel(server.Keys.CollectionSystem)),
            [new Event { EventId = "located", AccountId = "CN-3", CollectorId = "collector-1", OccurredAt = Timestamp.FromDateTimeOffset(T0), Channel = Channel.VoiceCall,
                Destination = new Destination { PhoneNumber = "+86 139 0013 8003" }, Purpose = ContactPurpose.LocateBorrower, CallPlaced = new CallPlaced { CallId = "call-located" } }]);
        // The lender corrects the second debt: the borrower gave the same two people for both.
        await RegisterLostChineseBorrowerAsync(server, contacts: 2, account: "CN-3", first: 1);
        var samePeople = await AuthorizeAsync(gate, LocateCall("CN-2", "+86 139 0013 8001"));

        Assert.Equal(Verdict.Deny, fourPeople.Verdict);
        Assert.Contains("the borrower's accounts list 4 unrelated third parties", Assert.Single(fourPeople.Rules).Message, StringComparison.Ordinal);
        Assert.Contains(Assert.Single(streamed).Violations, v => v.Rule.RuleId == "CN.borrower-supplied-contacts");
        Assert.Equal(Verdict.Allow, samePeople.Verdict);
    }

    [Fact]
    public async Task PreviewPolicy_OfTheSameDocument_ChangesNothing_WhenOnlyTheRegistryChangedSince()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        await RegisterLostChineseBorrowerAsync(server, contacts: 2);
        Assert.Equal(Verdict.Allow, (await AuthorizeAsync(gate, LocateCall("CN-2", "+86 139 0013 8001"))).Verdict);
        // Since then the lender listed a third contact: under today's account, both the policy in force and the same
        // document deny the replayed call, which the document itself does not change.
        await RegisterLostChineseBorrowerAsync(server, contacts: 3);

        var preview = await PreviewAroundT0Async(server, "");

        Assert.Equal(1, preview.DecisionsReplayed);
        Assert.Equal(0, preview.NewlyDenied);
        Assert.Empty(preview.NewlyDeniedByRule);
    }

    /// <summary>
    /// A borrower in China whose only number is invalid (so lost), with the given number of emergency contacts (numbered
    /// from <paramref name="first"/>), on account CN-2 or another of the same borrower.
    /// </summary>
    private static Task<UpsertAccountResponse> RegisterLostChineseBorrowerAsync(GateFixture server, int contacts, string account = "CN-2", int first = 1) =>
        new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem)).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = account,
                BorrowerId = "wang-fang",
                BorrowerName = "Wang Fang",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8001", Invalid = true } },
                Parties =
                {
                    Enumerable.Range(first, contacts).Select(i => new Party
                    {
                        PartyId = $"contact-{i}",
                        Role = PartyRole.EmergencyContact,
                        ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = $"+86 139 0013 800{i}" } },
                    }),
                },
            },
        }, cancellationToken: Ct).ResponseAsync;

    private static ContactRequest LocateCall(string account, string phone)
    {
        var call = Call(account, new Destination { PhoneNumber = phone });
        call.Purpose = ContactPurpose.LocateBorrower;
        return call;
    }

    [Fact]
    public async Task EighthCallInSevenDays_IsDenied_WithTheEarliestAllowedTime()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        for (var i = 0; i < 7; i++)
        {
            Assert.Equal(Verdict.Allow, (await AuthorizeAsync(gate, Call("US-1", Own))).Verdict);
        }

        var eighth = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.Equal(Verdict.Deny, eighth.Verdict);
        Assert.Equal("US-REGF.call-frequency", Assert.Single(eighth.Rules).RuleId);
        Assert.Equal("12 CFR 1006.14(b)(2)(i)(A)", eighth.Rules[0].Citation);
        // Calendar days in New York: day 8 opens at 08:00 local, whatever the clock time of the first call (08:59).
        var day8 = new DateTimeOffset(T0.AddDays(7).Date, TimeSpan.Zero).AddHours(13);
        Assert.Equal(day8, eighth.NextAllowedAt.ToDateTimeOffset());
        // The rule itself frees the contact at the start of day 8 (midnight in New York); the hours open it at 08:00.
        Assert.Equal(day8.AddHours(-8), eighth.Rules[0].NextAllowedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task ChineseAccount_At2200Shanghai_IsDenied_Until0800()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        var at2159 = await AuthorizeAsync(gate, Call("CN-1", Own));
        server.Clock.Advance(TimeSpan.FromMinutes(1));
        var at2200 = await AuthorizeAsync(gate, Call("CN-1", Own));

        Assert.Equal(Verdict.Allow, at2159.Verdict);
        Assert.Equal(Verdict.Deny, at2200.Verdict);
        Assert.Contains(at2200.Rules, r => r.RuleId == "CN.hours");
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero), at2200.NextAllowedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task RequestWaitingForTheBorrowersTurn_IsJudgedWhenItIsDecided_NotWhenItArrived()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        // The request arrives at 21:59 Shanghai and waits for the turn while the clock passes 22:00.
        var decision = await DecideAfterWaitingAsync(server, gate, TimeSpan.FromMinutes(1));

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Contains(decision.Rules, r => r.RuleId == "CN.hours");
        Assert.Equal(T0.AddMinutes(1), decision.EvaluatedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task RequestWaitingForTheBorrowersTurn_IsDecidedByThePolicyVersionInForceThen()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        // From 21:59:30 Shanghai, the lender ends calling hours at 21:30.
        await new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator)).PutPolicyAsync(new PutPolicyRequest
        {
            Document = "overrides:\n  CN.hours: { end: \"21:30\" }\n",
            EffectiveAt = Timestamp.FromDateTimeOffset(T0.AddSeconds(30)),
        }, cancellationToken: Ct);

        var decision = await DecideAfterWaitingAsync(server, gate, TimeSpan.FromSeconds(40));

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Equal("1", decision.PolicyVersion);
        Assert.Contains(decision.Rules, r => r.RuleId == "CN.hours");
    }

    /// <summary>
    /// Asks about a call to CN-1's own number while another decision about the same borrower holds the borrower's
    /// turn, moves the clock on by <paramref name="waited"/> meanwhile, then lets the request be decided.
    /// </summary>
    private static async Task<Decision> DecideAfterWaitingAsync(GateFixture server, ContactGateService.ContactGateServiceClient gate, TimeSpan waited)
    {
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = Task.Run(() => server.Get<Compliance.Storage.IComplianceStore>().DecideAsync("demo", "CN-1", T0.AddDays(-1), _ =>
        {
            holding.Set();
            release.Wait(Ct);
            throw new InvalidOperationException("the holder decides nothing");
        }, Ct), Ct);
        Assert.True(holding.Wait(TimeSpan.FromSeconds(10), Ct));

        var waiting = AuthorizeAsync(gate, Call("CN-1", Own));
        await Task.Delay(200, Ct); // the request arrives, and waits for the turn
        server.Clock.Advance(waited);
        release.Set();
        await Assert.ThrowsAsync<InvalidOperationException>(() => holder);
        return await waiting;
    }

    [Fact]
    public async Task ConcurrentCallers_NeverExceedTheCap()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        var decisions = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => AuthorizeAsync(gate, Call("US-1", Own))));

        Assert.Equal(7, decisions.Count(d => d.Verdict == Verdict.Allow));
        Assert.All(decisions.Where(d => d.Verdict == Verdict.Deny), d => Assert.Equal("US-REGF.call-frequency", d.Rules.Single().RuleId));
    }

    [Fact]
    public async Task LapsedReservation_IsReleased_AndFreesItsSlot()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        var allowed = new List<Decision>();
        for (var i = 0; i < 7; i++)
        {
            allowed.Add(await AuthorizeAsync(gate, Call("US-1", Own)));
        }

        var released = await gate.ReleaseReservationAsync(new ReleaseReservationRequest { DecisionId = allowed[0].DecisionId }, cancellationToken: Ct);
        var releasedAgain = await gate.ReleaseReservationAsync(new ReleaseReservationRequest { DecisionId = allowed[0].DecisionId }, cancellationToken: Ct);
        var afterExplicitRelease = await AuthorizeAsync(gate, Call("US-1", Own));
        var full = await AuthorizeAsync(gate, Call("US-1", Own));
        // Past the reservation time the background releaser frees the slots; releasing once more here makes
        // sure its pass has finished before the next call.
        server.Clock.Advance(TimeSpan.FromMinutes(3));
        await server.Get<ReservationReleaser>().ReleaseOnceAsync(Ct);
        var afterLapse = await AuthorizeAsync(gate, Call("US-1", Own));
        var stillFree = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.True(released.Released);
        Assert.False(releasedAgain.Released);
        Assert.Equal(Verdict.Allow, afterExplicitRelease.Verdict);
        Assert.Equal(Verdict.Deny, full.Verdict);
        Assert.Equal(Verdict.Allow, afterLapse.Verdict);
        Assert.Equal(Verdict.Allow, stillFree.Verdict);
        Assert.Equal((T0 + TimeSpan.FromMinutes(2)).ToUniversalTime(), allowed[0].ReservationExpiresAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task InactiveCollector_IsDenied_AndItsDeniesReserveNothing()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.Administrator));
        await registry.UpsertCollectorAsync(new UpsertCollectorRequest { Collector = new Collector { CollectorId = "collector-1", AgencyId = "in-house", Kind = CollectorKind.Human, Active = false } }, cancellationToken: Ct);
        var denied = new List<Decision>();
        for (var i = 0; i < 10; i++)
        {
            denied.Add(await AuthorizeAsync(gate, Call("US-1", Own)));
        }

        await registry.UpsertCollectorAsync(new UpsertCollectorRequest { Collector = new Collector { CollectorId = "collector-1", AgencyId = "in-house", Kind = CollectorKind.Human, Active = true } }, cancellationToken: Ct);
        var afterwards = new List<Verdict>();
        for (var i = 0; i < 8; i++)
        {
            afterwards.Add((await AuthorizeAsync(gate, Call("US-1", Own))).Verdict);
        }

        Assert.All(denied, d => Assert.Contains(d.Rules, r => r.RuleId == "BASE.collector-inactive"));
        Assert.Equal([.. Enumerable.Repeat(Verdict.Allow, 7), Verdict.Deny], afterwards);
    }

    [Fact]
    public async Task Evaluate_ReservesNothing_AndPlansAFutureTime()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        for (var i = 0; i < 10; i++)
        {
            await gate.EvaluateAsync(new EvaluateRequest { Contacts = { Call("US-1", Own) } }, cancellationToken: Ct);
        }

        var list = await gate.EvaluateAsync(new EvaluateRequest
        {
            Contacts = { Call("US-1", Own), Call("CN-1", Own) },
            At = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(T0.AddHours(12)), // 20:59 New York, 09:59 Shanghai next day
        }, cancellationToken: Ct);
        var authorize = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.Equal([Verdict.Allow, Verdict.Allow], list.Decisions.Select(d => d.Verdict));
        Assert.All(list.Decisions, d => Assert.Equal("", d.DecisionId));
        Assert.Equal(Verdict.Allow, authorize.Verdict);
    }

    [Fact]
    public async Task Decision_IsRecorded_AndReadableByItsId_OnlyByItsLender()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        var decision = await AuthorizeAsync(gate, Call("US-1", new Destination { PhoneNumber = "+1 212 555 0177" }));

        var read = (await new ContactGateService.ContactGateServiceClient(server.Channel(server.Keys.Auditor))
            .GetDecisionAsync(new GetDecisionRequest { DecisionId = decision.DecisionId }, cancellationToken: Ct)).Decision;

        Assert.Equal(decision.Rules, read.Rules);
        Assert.Equal(decision.PolicyVersion, read.PolicyVersion);
        Assert.Equal(Verdict.Deny, read.Verdict);
    }

    [Fact]
    public async Task ACeaseSetThroughAnotherReplica_BindsTheNextDecisionHere_ThoughTheAccountIsCached()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        var first = await AuthorizeAsync(gate, Call("US-1", Own)); // reads the account into this replica's cache

        // Another replica writes the flag into the shared database: this one's cache hears nothing of it.
        await server.Get<Compliance.Storage.IComplianceStore>().AddFlagAsync("demo", "US-1",
            new Compliance.Domain.Registry.Flag("flg-cease", Compliance.Domain.Registry.FlagType.CeaseCommunication, T0.AddDays(-1), null,
                Compliance.Domain.Registry.Channel.Unspecified, "", "", "letter", "another-replica", null), T0, Ct);
        var next = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.Equal(Verdict.Allow, first.Verdict);
        Assert.Equal(Verdict.Deny, next.Verdict);
        Assert.Contains(next.Rules, r => r.RuleId == "US-REGF.cease");
    }

    [Fact]
    public async Task ACollectorDeactivatedThroughAnotherReplica_BindsTheNextDecisionHere_ThoughItIsCached()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        var first = await AuthorizeAsync(gate, Call("US-1", Own)); // reads the collector into this replica's cache
        var store = server.Get<Compliance.Storage.IComplianceStore>();
        var collector = await store.GetCollectorAsync("demo", "collector-1", Ct);

        // Another replica deactivates the collector in the shared database: this one's cache hears nothing of it.
        await store.UpsertCollectorAsync(collector! with { Active = false }, T0.AddDays(-1), Ct);
        var next = await AuthorizeAsync(gate, Call("US-1", Own));
        await store.UpsertCollectorAsync(collector with { Active = true }, T0.AddDays(-1), Ct);
        var again = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.Equal(Verdict.Allow, first.Verdict);
        Assert.Equal(Verdict.Deny, next.Verdict);
        Assert.Contains(next.Rules, r => r.RuleId == "BASE.collector-inactive");
        Assert.DoesNotContain(again.Rules, r => r.RuleId == "BASE.collector-inactive");
    }

    [Fact]
    public async Task UnknownAccount_IsNotFound_AndMissingFields_AreInvalidArgument()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;

        var unknown = await Assert.ThrowsAsync<RpcException>(() => gate.AuthorizeAsync(new AuthorizeRequest { Contact = Call("nope", Own) }).ResponseAsync);
        var missing = await Assert.ThrowsAsync<RpcException>(() => gate.AuthorizeAsync(new AuthorizeRequest { Contact = new ContactRequest { AccountId = "US-1" } }).ResponseAsync);
        var strangerContact = Call("US-1", Own);
        strangerContact.CollectorId = "stranger";
        var unknownCollector = await Assert.ThrowsAsync<RpcException>(() => gate.AuthorizeAsync(new AuthorizeRequest { Contact = strangerContact }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, missing.StatusCode);
        Assert.Equal(["contact.collector_id", "contact.channel"], missing.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
        Assert.Equal(StatusCode.NotFound, unknownCollector.StatusCode);
    }

    [Fact]
    public async Task StoreFailure_FailsClosed()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        await ExecuteAsync(server, "ALTER TABLE attempts RENAME TO attempts_away");

        var decision = await AuthorizeAsync(gate, Call("US-1", Own));
        await ExecuteAsync(server, "ALTER TABLE attempts_away RENAME TO attempts");
        var recovered = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.True(decision.FailedClosed);
        Assert.Equal("GATE.undecidable", Assert.Single(decision.Rules).RuleId);
        Assert.Equal(Verdict.Allow, recovered.Verdict);
    }

    [Fact]
    public async Task LenderPolicy_TightensTheCap_AndDecisionsQuoteItsVersion_InvalidPolicyIsRejectedWhole()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator));

        var bad = await Assert.ThrowsAsync<RpcException>(() => policies.PutPolicyAsync(new PutPolicyRequest
        {
            Document = "overrides:\n  US-REGF.call-frequency:\n    max_attempts: 9\n",
        }).ResponseAsync);
        var put = await policies.PutPolicyAsync(new PutPolicyRequest
        {
            Document = "overrides:\n  US-REGF.call-frequency:\n    max_attempts: 2\n",
        }, cancellationToken: Ct);
        var decisions = new List<Decision>();
        for (var i = 0; i < 3; i++)
        {
            decisions.Add(await AuthorizeAsync(gate, Call("US-1", Own)));
        }

        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("max_attempts", bad.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Single().Field, StringComparison.Ordinal);
        Assert.Equal("1", put.Policy.Version);
        Assert.Equal([Verdict.Allow, Verdict.Allow, Verdict.Deny], decisions.Select(d => d.Verdict));
        Assert.All(decisions, d => Assert.Equal("1", d.PolicyVersion));
    }

    [Fact]
    public async Task StoredPolicyThatExcludedTheBaseline_StaysInForce_WithTheBaselineApplied()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        // Stored before BASE was required: its exclusion is overruled, and the rest of the version (a blocked date) holds.
        const string document = "profiles: { exclude: [BASE] }\nblocked_dates: [ { date: 2026-11-27, regions: [US], reason: Thanksgiving } ]\n";
        await server.Get<Compliance.Storage.IComplianceStore>().AddPolicyAsync("demo", document, T0.AddHours(-1), T0.AddHours(-1), "an older release", Ct);
        await server.Get<PolicyRegistry>().RefreshAsync(Ct);

        var decision = await AuthorizeAsync(gate, Call("US-1", Own));

        Assert.Equal("1", decision.PolicyVersion);
        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Contains("Thanksgiving", Assert.Single(decision.Rules).Message, StringComparison.Ordinal);
        Assert.Contains("BASE", decision.Profiles);
    }

    [Fact]
    public async Task PreviewPolicy_CountsTheContactsATighterCapWouldHaveDenied()
    {
        var (server, gate) = await StartAsync();
        await using var _ = server;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(Verdict.Allow, (await AuthorizeAsync(gate, Call("US-1", Own))).Verdict);
            server.Clock.Advance(TimeSpan.FromSeconds(1));
        }

        var preview = await PreviewAroundT0Async(server, "overrides:\n  US-REGF.call-frequency:\n    max_attempts: 2\n");

        Assert.Equal(5, preview.DecisionsReplayed);
        Assert.Equal(3, preview.NewlyDenied);
        Assert.Equal(0, preview.NewlyAllowed);
        Assert.Equal(3, preview.NewlyDeniedByRule["US-REGF.call-frequency"]);
    }

    /// <summary>What <paramref name="document"/> would have changed in the hour either side of the start, as a compliance officer asks.</summary>
    private static async Task<PreviewPolicyResponse> PreviewAroundT0Async(GateFixture server, string document) =>
        await new PolicyService.PolicyServiceClient(server.Channel(server.Keys.ComplianceOfficer)).PreviewPolicyAsync(new PreviewPolicyRequest
        {
            Document = document,
            PeriodStart = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(T0.AddHours(-1)),
            PeriodEnd = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(T0.AddHours(1)),
        }, cancellationToken: Ct);

    private static async Task ExecuteAsync(ServerFixture server, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "compliance.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }
}
