using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Server.Tests;

/// <summary>
/// Regulation F as its official commentary reads it, end to end through the real gRPC server with its clock pinned:
/// consent to calls (1006.14(b)(3)(i)), call-ins (comment 14(b)(2)(i)-1.ii), wrong numbers (comment 14(b)(2)(i)-3),
/// opt-outs that belong to the consumer (comment 14(h)-3.ii) and the validation notice's timing (1006.34(a)(1)).
/// </summary>
public sealed class ConsumerLawTests
{
    /// <summary>Friday 2026-11-27 08:59 in New York.</summary>
    private static readonly DateTimeOffset T0 = GateFixture.Start;

    private static readonly TimeSpan NewYork = TimeSpan.FromHours(-5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DateTimeOffset Local(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, NewYork);

    /// <summary>A server with two debts of one New York borrower (US-1, US-2), each listing the mobile and home numbers.</summary>
    private static async Task<GateFixture> StartAsync()
    {
        var server = new GateFixture();
        var registry = Registry(server, server.Keys.CollectionSystem);
        foreach (var id in new[] { "US-1", "US-2" })
        {
            await registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account
                {
                    AccountId = id,
                    BorrowerId = "borrower-1",
                    Location = new Location { Region = "US-NY", TimeZone = "America/New_York" },
                    ContactPoints =
                    {
                        new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+1 212 555 0134" },
                        new ContactPoint { ContactPointId = "home", Kind = ContactPointKind.Phone, Use = ContactPointUse.Home, Value = "+1 212 555 0136" },
                    },
                },
            }, cancellationToken: Ct);
        }

        return server;
    }

    private static RegistryService.RegistryServiceClient Registry(GateFixture server, string key) => new(server.Channel(key));

    private static EventIngestService.EventIngestServiceClient Ingest(GateFixture server) => new(server.Channel(server.Keys.CollectionSystem));

    private static async Task<Decision> EvaluateAsync(GateFixture server, DateTimeOffset at, string account = "US-1", string point = "mobile", Channel channel = Channel.VoiceCall)
    {
        var gate = new ContactGateService.ContactGateServiceClient(server.Channel(server.Keys.CollectionSystem));
        var response = await gate.EvaluateAsync(new EvaluateRequest
        {
            At = Timestamp.FromDateTimeOffset(at),
            Contacts = { new ContactRequest { AccountId = account, CollectorId = "collector-1", Channel = channel, Destination = new Destination { ContactPointId = point } } },
        }, cancellationToken: Ct);
        return Assert.Single(response.Decisions);
    }

    private static async Task<Flag> SetFlagAsync(GateFixture server, string account, Flag flag) =>
        (await Registry(server, server.Keys.ComplianceOfficer).SetFlagAsync(new SetFlagRequest { AccountId = account, Flag = flag }, cancellationToken: Ct)).Flag;

    private static Event Call(string id, DateTimeOffset at, string point = "mobile", string account = "US-1") => new()
    {
        EventId = id,
        AccountId = account,
        CollectorId = "collector-1",
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.VoiceCall,
        Destination = new Destination { ContactPointId = point },
        CallPlaced = new CallPlaced { CallId = id },
    };

    private static Event Conversation(string id, DateTimeOffset at) => new()
    {
        EventId = id + "-end",
        AccountId = "US-1",
        CollectorId = "collector-1",
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.VoiceCall,
        CallEnded = new CallEnded { CallId = id, Outcome = CallOutcome.Conversation },
    };

    private static Event CallIn(string id, DateTimeOffset at, bool conversation = true) => new()
    {
        EventId = id,
        AccountId = "US-1",
        CollectorId = "collector-1",
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.VoiceCall,
        Destination = new Destination { ContactPointId = "mobile" },
        InboundCall = new InboundCall { CallId = id, Conversation = conversation, Duration = Duration.FromTimeSpan(TimeSpan.FromMinutes(4)) },
    };

    private static Event Notice(string id, DateTimeOffset at) => new()
    {
        EventId = id,
        AccountId = "US-1",
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.Letter,
        ValidationNoticeSent = new ValidationNoticeSent { Delivery = ValidationDelivery.Written, Note = "letter VN-1" },
    };

    private static string[] Denying(Decision d) => [.. d.Rules.Where(r => r.Effect == RuleEffect.Deny).Select(r => r.RuleId)];

    [Fact]
    public async Task ConsentForANamedDay_LetsCallsThroughTheWait_OnlyOnThatDay()
    {
        // Comment 14(b)(3)(i)-3.i: a conversation on Friday, the consumer says "call back on Monday".
        await using var server = await StartAsync();
        server.Clock.SetUtcNow(Local(11, 27, 10, 10));
        await EventIngestTests.StreamAsync(Ingest(server), [Call("c1", Local(11, 27, 10)), Conversation("c1", Local(11, 27, 10, 5))]);
        var withoutConsent = await EvaluateAsync(server, Local(11, 30, 10));
        var consent = await SetFlagAsync(server, "US-1", new Flag
        {
            Type = FlagType.ConsentToContact,
            Channel = Channel.VoiceCall,
            EffectiveFrom = Timestamp.FromDateTimeOffset(Local(11, 27, 10, 5)),
            ConsentWindowStart = Timestamp.FromDateTimeOffset(Local(11, 30, 0)),
            ExpiresAt = Timestamp.FromDateTimeOffset(Local(12, 1, 0)),
            Note = "call back on Monday",
        });

        var monday = await EvaluateAsync(server, Local(11, 30, 10));
        var tuesday = await EvaluateAsync(server, Local(12, 1, 10));
        var otherDebt = await SetFlagAsync(server, "US-2", new Flag { Type = FlagType.ConsentToContact, EffectiveFrom = Timestamp.FromDateTimeOffset(Local(11, 27, 10, 5)) });

        Assert.Equal(["US-REGF.wait-after-conversation"], Denying(withoutConsent));
        Assert.Equal(Timestamp.FromDateTimeOffset(Local(11, 30, 0)), consent.ConsentWindowStart);
        Assert.Equal(Verdict.Allow, monday.Verdict);
        Assert.Equal(["US-REGF.wait-after-conversation"], Denying(tuesday));
        Assert.Equal(Timestamp.FromDateTimeOffset(Local(12, 4, 8)), tuesday.NextAllowedAt);
        // Consent is given for a particular debt: US-2's consent does not open US-1's calls.
        Assert.Equal(FlagType.ConsentToContact, otherDebt.Type);
        Assert.Equal(["US-REGF.wait-after-conversation"], Denying(await EvaluateAsync(server, Local(12, 1, 10))));
    }

    [Fact]
    public async Task ConsentAndWrongNumber_RecordedAsConsumerRequestsOnTheStream_WorkAsTheirFlags()
    {
        await using var server = await StartAsync();
        server.Clock.SetUtcNow(Local(11, 27, 10, 10));
        await EventIngestTests.StreamAsync(Ingest(server), [Call("c1", Local(11, 27, 10)), Conversation("c1", Local(11, 27, 10, 5))]);
        Event Request(string id, ConsumerRequest request, Destination? destination = null) => new()
        {
            EventId = id,
            AccountId = "US-1",
            CollectorId = "collector-1",
            OccurredAt = Timestamp.FromDateTimeOffset(Local(11, 27, 10, 6)),
            Destination = destination,
            ConsumerRequest = request,
        };

        var acks = await EventIngestTests.StreamAsync(Ingest(server),
        [
            Request("consent-1", new ConsumerRequest
            {
                Type = ConsumerRequestType.ConsentToCalls,
                OptOutChannel = Channel.VoiceCall,
                ConsentWindowStart = Timestamp.FromDateTimeOffset(Local(11, 30, 0)),
                ConsentWindowEnd = Timestamp.FromDateTimeOffset(Local(12, 1, 0)),
                Note = "call back on Monday",
            }),
            Request("wrong-1", new ConsumerRequest { Type = ConsumerRequestType.WrongNumber }, new Destination { ContactPointId = "home" }),
            Request("bad-1", new ConsumerRequest { Type = ConsumerRequestType.ConsentToCalls, ConsentWindowStart = Timestamp.FromDateTimeOffset(Local(11, 26, 0)) }),
        ]);
        var monday = await EvaluateAsync(server, Local(11, 30, 10));
        var home = await EvaluateAsync(server, Local(11, 30, 10), point: "home");

        Assert.Equal([AckStatus.Accepted, AckStatus.Accepted, AckStatus.Rejected], acks.Select(a => a.Status));
        Assert.Equal("events[2].consumer_request.consent_window_start", acks[2].ErrorField);
        Assert.Equal(Verdict.Allow, monday.Verdict);
        Assert.Equal(DestinationClass.Unknown, home.DestinationClass);
    }

    [Fact]
    public async Task ConsentWindowStart_BeforeConsentWasGiven_IsInvalidArgument()
    {
        await using var server = await StartAsync();

        var refused = await Assert.ThrowsAsync<RpcException>(() => SetFlagAsync(server, "US-1", new Flag
        {
            Type = FlagType.ConsentToContact,
            EffectiveFrom = Timestamp.FromDateTimeOffset(Local(11, 27, 10)),
            ConsentWindowStart = Timestamp.FromDateTimeOffset(Local(11, 26, 10)),
        }));

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal("flag.consent_window_start", Assert.Single(refused.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations).Field);
    }

    [Fact]
    public async Task CallIn_IsAConversationForTheWait_ButNotAPlacedCall()
    {
        // Comment 14(b)(2)(i)-1.ii: the consumer calls on a Friday; no call before the next Friday.
        await using var server = await StartAsync();
        server.Clock.SetUtcNow(Local(11, 27, 12, 40));
        var calls = Enumerable.Range(0, 6).Select(i => Call($"p{i}", T0.AddMinutes(i))).ToList();
        var acks = await EventIngestTests.StreamAsync(Ingest(server), [.. calls, CallIn("in-1", Local(11, 27, 11), conversation: false)]);
        var afterNoConversation = await EvaluateAsync(server, Local(11, 27, 12));
        var conversation = await EventIngestTests.StreamAsync(Ingest(server), [CallIn("in-2", Local(11, 27, 12, 30))]);

        var sameWeek = await EvaluateAsync(server, Local(12, 3, 20));
        var dayEight = await EvaluateAsync(server, Local(12, 4, 8));

        Assert.All(acks, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.Empty(acks[^1].Violations);
        // Six placed calls and a call-in: the seventh placed call is still allowed.
        Assert.Equal(Verdict.Allow, afterNoConversation.Verdict);
        Assert.Empty(Assert.Single(conversation).Violations);
        Assert.Equal(["US-REGF.wait-after-conversation"], Denying(sameWeek));
        Assert.Equal(Timestamp.FromDateTimeOffset(Local(12, 4, 8)), sameWeek.NextAllowedAt);
        Assert.Equal(Verdict.Allow, dayEight.Verdict);
    }

    [Fact]
    public async Task WrongNumber_TakesEarlierCallsOffTheConsumersCap_AndMakesTheNumberAStrangers()
    {
        // Comment 14(b)(2)(i)-3.i: calls to a number that turns out to be someone else's were not calls to the consumer.
        await using var server = await StartAsync();
        server.Clock.SetUtcNow(T0.AddHours(2));
        await EventIngestTests.StreamAsync(Ingest(server), [.. Enumerable.Range(0, 7).Select(i => Call($"h{i}", T0.AddMinutes(10 * i), "home"))]);
        var before = await EvaluateAsync(server, T0.AddHours(3));

        var flag = await SetFlagAsync(server, "US-1", new Flag
        {
            Type = FlagType.WrongNumber,
            ContactPointId = "home",
            WrongNumberSource = WrongNumberSource.ThirdParty,
            EffectiveFrom = Timestamp.FromDateTimeOffset(T0.AddDays(-1)),
            Note = "the person who answered does not know the consumer",
        });
        var toMobile = await EvaluateAsync(server, T0.AddHours(3));
        var toHome = await EvaluateAsync(server, T0.AddHours(3), point: "home");
        var otherDebt = await EvaluateAsync(server, T0.AddHours(3), account: "US-2", point: "home");
        var missingPoint = await Assert.ThrowsAsync<RpcException>(() => SetFlagAsync(server, "US-1", new Flag { Type = FlagType.WrongNumber }));
        var account = await Registry(server, server.Keys.Auditor).GetAccountAsync(new GetAccountRequest { AccountId = "US-1" }, cancellationToken: Ct);

        Assert.Contains("US-REGF.call-frequency", Denying(before));
        Assert.Equal(WrongNumberSource.ThirdParty, flag.WrongNumberSource);
        Assert.Equal(Verdict.Allow, toMobile.Verdict);
        Assert.Equal(DestinationClass.Unknown, toHome.DestinationClass);
        Assert.Contains("US-REGF.third-parties", Denying(toHome));
        // The number is not the consumer's on any of the borrower's debts that list it.
        Assert.Contains("US-REGF.third-parties", Denying(otherDebt));
        Assert.Equal("flag.contact_point_id", Assert.Single(missingPoint.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations).Field);
        Assert.Contains(account.Account.Flags, f => f.Type == FlagType.WrongNumber && f.WrongNumberSource == WrongNumberSource.ThirdParty);
    }

    [Fact]
    public async Task OptOut_OnOneDebt_AppliesToEveryDebtOfTheConsumer_UntilRevoked()
    {
        // Comment 14(h)-3.ii: the request applies "for any debt".
        await using var server = await StartAsync();
        var before = await EvaluateAsync(server, T0.AddHours(1), account: "US-2");
        var optOut = await SetFlagAsync(server, "US-1", new Flag { Type = FlagType.MediumOptOut, Channel = Channel.VoiceCall, Note = "stop calling" });
        var otherDebt = await EvaluateAsync(server, T0.AddHours(1), account: "US-2");
        await Registry(server, server.Keys.ComplianceOfficer).ClearFlagAsync(new ClearFlagRequest { AccountId = "US-1", FlagId = optOut.FlagId }, cancellationToken: Ct);
        var revoked = await EvaluateAsync(server, T0.AddHours(1), account: "US-2");

        // The same request arriving as an event on the stream.
        await EventIngestTests.StreamAsync(Ingest(server),
        [
            new Event
            {
                EventId = "req-1",
                AccountId = "US-1",
                OccurredAt = Timestamp.FromDateTimeOffset(T0),
                ConsumerRequest = new ConsumerRequest { Type = ConsumerRequestType.OptOutMedium, OptOutChannel = Channel.Sms },
            },
        ]);
        var textOtherDebt = await EvaluateAsync(server, T0.AddHours(1), account: "US-2", channel: Channel.Sms);

        Assert.Equal(Verdict.Allow, before.Verdict);
        Assert.Equal(["US-REGF.medium-opt-out"], Denying(otherDebt));
        Assert.Contains("applies to every debt", otherDebt.Rules.Single(r => r.RuleId == "US-REGF.medium-opt-out").Message, StringComparison.Ordinal);
        Assert.Equal(Verdict.Allow, revoked.Verdict);
        Assert.Equal(["US-REGF.medium-opt-out"], Denying(textOtherDebt));
    }

    [Fact]
    public async Task ValidationNotice_MissingAfterFiveDays_AndLate_AreViolationsWithIncidents()
    {
        await using var server = await StartAsync();
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor));
        // The initial communication: a conversation on Friday 27 November; the notice is due by the end of 2 December.
        server.Clock.SetUtcNow(Local(11, 27, 10, 10));
        await EventIngestTests.StreamAsync(Ingest(server), [Call("c1", Local(11, 27, 10)), Conversation("c1", Local(11, 27, 10, 5))]);
        server.Clock.SetUtcNow(Local(12, 2, 20));
        var dayFive = await EventIngestTests.StreamAsync(Ingest(server), [CallIn("in-1", Local(12, 2, 19), conversation: false)]);
        server.Clock.SetUtcNow(Local(12, 3, 12));
        var daySix = await EventIngestTests.StreamAsync(Ingest(server), [CallIn("in-2", Local(12, 3, 9), conversation: false), CallIn("in-3", Local(12, 3, 10), conversation: false)]);
        var notice = await EventIngestTests.StreamAsync(Ingest(server), [Notice("vn-1", Local(12, 3, 11))]);
        var incidents = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);
        var account = await Registry(server, server.Keys.Auditor).GetAccountAsync(new GetAccountRequest { AccountId = "US-1" }, cancellationToken: Ct);

        Assert.Empty(Assert.Single(dayFive).Violations);
        var missing = Assert.Single(daySix[0].Violations);
        Assert.Equal("US-REGF.validation-notice", missing.Rule.RuleId);
        Assert.Equal("12 CFR 1006.34(a)(1)", missing.Rule.Citation);
        Assert.Contains("no validation notice was sent within 5 days", missing.Rule.Message, StringComparison.Ordinal);
        Assert.Empty(daySix[1].Violations); // one finding per debt
        Assert.Contains("more than 5 days after", Assert.Single(Assert.Single(notice).Violations).Rule.Message, StringComparison.Ordinal);
        Assert.Equal(2, incidents.Incidents.Count(i => i.RuleId == "US-REGF.validation-notice" && i.AccountId == "US-1"));
        Assert.Contains(account.Account.Flags, f => f.Type == FlagType.ValidationNoticeSent && f.ValidationDelivery == ValidationDelivery.Written);
    }

    [Fact]
    public async Task ValidationNotice_SentInTime_IsClean_AndAHoldingPolicyHoldsCallsUntilItIsSent()
    {
        await using var server = await StartAsync();
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator));
        await policies.PutPolicyAsync(new PutPolicyRequest { Document = "overrides:\n  US-REGF.validation-notice: { hold_until_sent: true }\n" }, cancellationToken: Ct);

        var held = await EvaluateAsync(server, T0.AddHours(1));
        var notice = await EventIngestTests.StreamAsync(Ingest(server), [Notice("vn-1", T0)]);
        var sent = await EvaluateAsync(server, T0.AddHours(1));

        Assert.Equal(["US-REGF.validation-notice"], Denying(held));
        Assert.Empty(Assert.Single(notice).Violations);
        Assert.Equal(Verdict.Allow, sent.Verdict);
    }

    [Fact]
    public async Task EvidenceTimeline_StatesConsentWrongNumberCallInAndNotice()
    {
        await using var server = await StartAsync();
        server.Clock.Advance(TimeSpan.FromMinutes(5));
        await SetFlagAsync(server, "US-1", new Flag { Type = FlagType.ConsentToContact, EffectiveFrom = Timestamp.FromDateTimeOffset(T0) });
        await SetFlagAsync(server, "US-1", new Flag { Type = FlagType.WrongNumber, ContactPointId = "home", WrongNumberSource = WrongNumberSource.ReassignedNumbersCheck, EffectiveFrom = Timestamp.FromDateTimeOffset(T0) });
        await EventIngestTests.StreamAsync(Ingest(server), [CallIn("in-1", T0.AddMinutes(1)), Notice("vn-1", T0.AddMinutes(2))]);
        var zip = await EvidenceBundle.DownloadAsync(new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor)), new ExportEvidenceRequest { AccountId = "US-1" });
        var html = zip.Read("summary.html");

        Assert.Contains("Consent to calls given directly", html, StringComparison.Ordinal);
        Assert.Contains("Wrong number recorded: contact point home", html, StringComparison.Ordinal);
        Assert.Contains("ReassignedNumbersCheck", html, StringComparison.Ordinal);
        Assert.Contains("Call-in by the consumer: a conversation", html, StringComparison.Ordinal);
        Assert.Contains("Validation notice sent", html, StringComparison.Ordinal);
    }
}
