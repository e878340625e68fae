using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Server.Tests;

/// <summary>The event stream end to end over gRPC with the server's clock pinned.</summary>
public sealed class EventIngestTests
{
    private static readonly DateTimeOffset T0 = GateFixture.Start; // 08:59 New York, 21:59 Shanghai

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<GateFixture> StartAsync(params (string Key, string Value)[] settings)
    {
        var server = new GateFixture(settings);
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem));
        foreach (var id in new[] { "US-1", "US-2" })
        {
            await registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account
                {
                    AccountId = id,
                    BorrowerId = $"borrower-{id}",
                    Location = new Location { Region = "US-NY" },
                    ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = id == "US-1" ? "+1 212 555 0134" : "+1 212 555 0135" } },
                    Parties = { new Party { PartyId = "friend", Role = PartyRole.Friend, ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = "+1 212 555 0199" } } } },
                },
            }, cancellationToken: Ct);
        }

        return server;
    }

    /// <summary>Calls placed to US-1's own number, a minute apart from <paramref name="from"/>, with ids prefix0, prefix1, ...</summary>
    private static List<Event> OwnCalls(string prefix, int count, DateTimeOffset from) =>
        Enumerable.Range(0, count).Select(i => Placed($"{prefix}{i}", "US-1", from.AddMinutes(i), Own)).ToList();

    internal static Event Placed(string id, string account, DateTimeOffset at, Destination destination, string decisionId = "", string? callId = null) => new()
    {
        EventId = id,
        AccountId = account,
        CollectorId = "collector-1",
        DecisionId = decisionId,
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.VoiceCall,
        Destination = destination,
        CallPlaced = new CallPlaced { CallId = callId ?? id },
    };

    internal static Event Sms(string id, string account, DateTimeOffset at, string body, Destination? destination = null) => new()
    {
        EventId = id,
        AccountId = account,
        CollectorId = "collector-1",
        OccurredAt = Timestamp.FromDateTimeOffset(at),
        Channel = Channel.Sms,
        Destination = destination ?? new Destination { ContactPointId = "mobile" },
        MessageSent = new MessageSent { Body = body },
    };

    private static Destination Own => new() { ContactPointId = "mobile" };

    /// <summary>Sends the events in batches over one stream and returns every acknowledgement, in order.</summary>
    internal static async Task<List<EventAck>> StreamAsync(EventIngestService.EventIngestServiceClient client, IReadOnlyList<Event> events, int batchSize = 100)
    {
        using var call = client.Stream(cancellationToken: Ct);
        var acks = new List<EventAck>();
        var reading = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(Ct))
            {
                acks.AddRange(response.Acks);
            }
        }, Ct);
        foreach (var chunk in events.Chunk(batchSize))
        {
            await call.RequestStream.WriteAsync(new StreamRequest { Events = { chunk } }, Ct);
        }

        await call.RequestStream.CompleteAsync();
        await reading;
        return acks;
    }

    private static EventIngestService.EventIngestServiceClient Ingest(GateFixture server) => new(server.Channel(server.Keys.CollectionSystem));

    /// <summary>Asks the gate before a call, by default to the account's own mobile.</summary>
    private static async Task<Decision> AuthorizeCallAsync(GateFixture server, string account = "US-1", Destination? destination = null) =>
        (await new ContactGateService.ContactGateServiceClient(server.Channel(server.Keys.CollectionSystem)).AuthorizeAsync(
            new AuthorizeRequest { Contact = new ContactRequest { AccountId = account, CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = destination ?? Own } },
            cancellationToken: Ct)).Decision;

    [Fact]
    public async Task MixedEvents_GetTheirKnownVerdicts()
    {
        await using var server = await StartAsync();
        var allowed = await AuthorizeCallAsync(server);
        var denied = await AuthorizeCallAsync(server, destination: new Destination { PhoneNumber = "+1 646 555 0100" });

        var acks = await StreamAsync(Ingest(server),
        [
            Placed("e1", "US-1", T0, Own, allowed.DecisionId, "call-1"),
            new Event { EventId = "e2", AccountId = "US-1", CollectorId = "collector-1", OccurredAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(1)), CallEnded = new CallEnded { CallId = "call-1", Outcome = CallOutcome.Conversation, Duration = Duration.FromTimeSpan(TimeSpan.FromMinutes(3)) } },
            Placed("e3", "US-1", T0.AddMinutes(2), new Destination { PhoneNumber = "+1 646 555 0100" }),
            Placed("e4", "US-1", T0.AddMinutes(3), new Destination { PhoneNumber = "+1 646 555 0100" }, denied.DecisionId),
            Sms("e5", "US-2", T0.AddMinutes(4), "Hello Jane, please call us about your account. Reply STOP to opt out."),
            Sms("e6", "US-2", T0.AddMinutes(5), "Hello Jane, please call us about your account."),
            Placed("e7", "US-2", T0.AddHours(-10), Own), // 22:59 the evening before in New York
        ]);

        Assert.Equal(7, acks.Count);
        Assert.All(acks, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.Empty(acks[0].Violations);
        Assert.Empty(acks[1].Violations);
        Assert.Contains(acks[2].Violations, v => v.Rule.RuleId == "US-REGF.third-parties");
        Assert.Contains(acks[2].Violations, v => v.Rule.RuleId == "INGEST.contact-without-authorization");
        Assert.Contains(acks[3].Violations, v => v.Rule.RuleId == "INGEST.contact-despite-deny" && v.Rule.Severity == Severity.Critical);
        Assert.Empty(acks[4].Violations);
        Assert.Contains(acks[5].Violations, v => v.Rule.Citation.Contains("1006.6(e)", StringComparison.Ordinal));
        Assert.Contains(acks[6].Violations, v => v.Rule.RuleId == "US-REGF.hours");
        Assert.True(acks[2].RiskScore > acks[5].RiskScore);
        Assert.Equal(0, acks[0].RiskScore);
    }

    [Fact]
    public async Task ConductScores_RankCollectorsAndAccounts_AndListTheEventsBehindThem()
    {
        await using var server = await StartAsync();
        await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.Administrator))
            .UpsertCollectorAsync(new UpsertCollectorRequest { Collector = new Collector { CollectorId = "careful", AgencyId = "in-house", Kind = CollectorKind.Human, Active = true } }, cancellationToken: Ct);
        var careful = Sms("s1", "US-2", T0, "Reminder: your payment is due. Reply STOP to opt out.");
        careful.CollectorId = "careful";
        await StreamAsync(Ingest(server),
        [
            careful,
            Placed("s2", "US-1", T0.AddMinutes(1), new Destination { PhoneNumber = "+1 646 555 0100" }),
            Sms("s3", "US-1", T0.AddMinutes(2), "The p0l1ce have your file. Reply STOP to opt out."),
        ]);
        var reports = new ReportService.ReportServiceClient(server.Channel(server.Keys.ComplianceOfficer));

        var collectors = await reports.GetConductScoresAsync(new GetConductScoresRequest { Scope = ScoreScope.Collector }, cancellationToken: Ct);
        var account = (await reports.GetConductScoresAsync(new GetConductScoresRequest { Scope = ScoreScope.Account, Id = "US-1" }, cancellationToken: Ct)).Scores.Single();
        var agency = (await reports.GetConductScoresAsync(new GetConductScoresRequest { Scope = ScoreScope.Agency, Id = "in-house" }, cancellationToken: Ct)).Scores.Single();

        Assert.Equal(["collector-1", "careful"], collectors.Scores.Select(c => c.Id));
        Assert.True(collectors.Scores[0].Score > 0);
        Assert.Equal(0, collectors.Scores[1].Score);
        Assert.Equal(100, account.Score);
        Assert.Equal(["s2", "s3"], account.TopEvents.Select(e => e.EventId).Order());
        Assert.Contains("US-REGF.third-parties", account.ViolationsByRule.Keys);
        Assert.Equal(3, agency.Events);
        Assert.Equal(2, agency.EventsWithViolations);
    }

    [Fact]
    public async Task Resend_GetsTheOriginalVerdicts_AndCountsNothingTwice()
    {
        await using var server = await StartAsync();
        var events = OwnCalls("r", 4, T0);

        var first = await StreamAsync(Ingest(server), events);
        var again = await StreamAsync(Ingest(server), events);
        var decisions = new List<Decision>();
        for (var i = 0; i < 4; i++)
        {
            decisions.Add(await AuthorizeCallAsync(server));
        }

        Assert.All(first, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.All(again, a => Assert.Equal(AckStatus.Duplicate, a.Status));
        Assert.Equal(first.Select(a => (a.EventId, a.RiskScore, a.Violations.Count)), again.Select(a => (a.EventId, a.RiskScore, a.Violations.Count)));
        // 4 recorded calls + 3 allowed = 7 in 7 days; the 4th authorization is the 8th call.
        Assert.Equal([Verdict.Allow, Verdict.Allow, Verdict.Allow, Verdict.Deny], decisions.Select(d => d.Verdict));
    }

    [Fact]
    public async Task EventQuotingAReservationMadeAfterEarlierEvents_ConsumesIt_AndCountsOnce()
    {
        await using var server = await StartAsync();
        var ingest = Ingest(server);

        await StreamAsync(ingest, OwnCalls("p", 3, T0.AddMinutes(-10)));
        var fourth = await AuthorizeCallAsync(server);
        var confirmed = await StreamAsync(ingest, [Placed("p3", "US-1", T0, Own, fourth.DecisionId)]);
        var later = new List<Verdict>();
        for (var i = 0; i < 4; i++)
        {
            later.Add((await AuthorizeCallAsync(server)).Verdict);
        }

        Assert.Equal(Verdict.Allow, fourth.Verdict);
        Assert.Empty(confirmed[0].Violations);
        Assert.Equal([Verdict.Allow, Verdict.Allow, Verdict.Allow, Verdict.Deny], later);
    }

    [Fact]
    public async Task AReservationTheGateMakes_CountsForTheNextEvents_OfABorrowerTheIngestHoldsInMemory()
    {
        await using var server = await StartAsync();
        var ingest = Ingest(server);

        // Six calls stream in (the ingest now holds the borrower's history); the gate reserves the seventh of Regulation F's
        // seven in seven days, and a call placed without asking follows.
        var six = await StreamAsync(ingest, OwnCalls("r", 6, T0.AddMinutes(-30)));
        var seventh = await AuthorizeCallAsync(server);
        var unasked = await StreamAsync(ingest, [Placed("r6", "US-1", T0.AddMinutes(1), Own)]);

        Assert.All(six, a => Assert.Empty(a.Violations));
        Assert.Equal(Verdict.Allow, seventh.Verdict);
        Assert.Contains(unasked[0].Violations, v => v.Rule.RuleId == "INGEST.contact-without-authorization");
        Assert.Contains(unasked[0].Violations, v => v.Rule.RuleId == "US-REGF.call-frequency");
    }

    [Fact]
    public async Task AnEventConfirmingTheLastReservationUnderTheCap_IsNotCountedAgainstItself()
    {
        await using var server = await StartAsync();
        var ingest = Ingest(server);

        await StreamAsync(ingest, OwnCalls("c", 6, T0.AddMinutes(-30)));
        var seventh = await AuthorizeCallAsync(server);
        // Judged against the six before it: its own reservation, the seventh attempt, is the contact itself.
        var confirmed = await StreamAsync(ingest, [Placed("c6", "US-1", T0, Own, seventh.DecisionId)]);

        Assert.Equal(Verdict.Allow, seventh.Verdict);
        Assert.Equal(AckStatus.Accepted, confirmed[0].Status);
        Assert.Empty(confirmed[0].Violations);
    }

    [Fact]
    public async Task EventQuotingADecisionTheDatabaseHasNotTakenYet_FailsItsBatch_AndIsStoredWhenResent()
    {
        // Scored inside the group commit (no pipeline), while the database refuses decisions: the gate answers from its
        // journal, and the event that quotes the decision must not be rejected for good.
        await using var server = await StartAsync(("Compliance:Ingest:Pipeline", "false"));
        await ExecuteAsync(server, "CREATE TRIGGER refuse_decisions BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'refused'); END;");
        var decision = await AuthorizeCallAsync(server);
        var placed = Placed("q1", "US-1", T0, Own, decision.DecisionId);

        var refused = await Assert.ThrowsAsync<RpcException>(() => StreamAsync(Ingest(server), [placed]));
        await ExecuteAsync(server, "DROP TRIGGER refuse_decisions;");
        List<EventAck> acks = [];
        for (var attempt = 0; attempt < 40; attempt++)
        {
            try
            {
                acks = await StreamAsync(Ingest(server), [placed]);
                break;
            }
            catch (RpcException)
            {
                await Task.Delay(100, Ct); // until the store's retries have written the decision
            }
        }

        Assert.Equal(Verdict.Allow, decision.Verdict);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal(AckStatus.Accepted, Assert.Single(acks).Status);
        Assert.Empty(acks[0].Violations);
    }

    private static async Task<object?> ExecuteAsync(ServerFixture server, string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "compliance.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(Ct);
    }

    [Fact]
    public async Task ACommitThatFails_WhileLaterRequestsAreScored_LosesAndDoublesNothing_OnceTheyAreResent()
    {
        await using var server = await StartAsync();
        // The database refuses one event: its group commit fails, and so does every batch scored on top of it.
        await ExecuteAsync(server, "CREATE TRIGGER refuse_boom BEFORE INSERT ON event_log WHEN NEW.event_id = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END;");
        var texts = Enumerable.Range(0, 400).Select(i => Sms($"t{i}", i % 2 == 0 ? "US-1" : "US-2", T0.AddMinutes(-50 + (i / 10.0)), "Your payment is due.")).ToList();
        texts.Insert(200, Sms("boom", "US-1", T0.AddMinutes(-30), "Your payment is due."));

        var refused = await Assert.ThrowsAsync<RpcException>(() => StreamAsync(Ingest(server), texts, batchSize: 10));
        await ExecuteAsync(server, "DROP TRIGGER refuse_boom;");
        var resent = await StreamAsync(Ingest(server), texts, batchSize: 10);
        var again = await StreamAsync(Ingest(server), texts, batchSize: 10);

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal(texts.Select(e => e.EventId), resent.Select(a => a.EventId));
        Assert.All(resent, a => Assert.Contains(a.Status, new[] { AckStatus.Accepted, AckStatus.Duplicate }));
        Assert.Contains(resent, a => a.Status == AckStatus.Accepted && a.EventId == "boom");
        Assert.All(again, a => Assert.Equal(AckStatus.Duplicate, a.Status));
        Assert.Equal(401L, await ExecuteAsync(server, "SELECT COUNT(*) FROM event_log"));
        Assert.Equal(401L, await ExecuteAsync(server, "SELECT COUNT(DISTINCT event_id) FROM event_log"));
    }

    [Fact]
    public async Task EventQuotingAnUnknownDecision_IsRecorded_WithACriticalViolation()
    {
        await using var server = await StartAsync();

        var acks = await StreamAsync(Ingest(server), [Placed("u1", "US-1", T0, Own, "dec_made_up")]);

        Assert.Equal(AckStatus.Accepted, acks[0].Status);
        Assert.Contains(acks[0].Violations, v => v.Rule.RuleId == "INGEST.unknown-decision" && v.Rule.Severity == Severity.Critical);
    }

    [Fact]
    public async Task ContactByAnInactiveCollector_WithoutTheGate_IsAViolation_ButNotAContactFromBeforeItWasMadeInactive()
    {
        await using var server = await StartAsync();
        var deactivated = await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.Administrator))
            .UpsertCollectorAsync(new UpsertCollectorRequest { Collector = new Collector { CollectorId = "collector-1", AgencyId = "in-house", Kind = CollectorKind.Human, Active = false } }, cancellationToken: Ct);

        var acks = await StreamAsync(Ingest(server), [Placed("i1", "US-1", T0, Own), Placed("i0", "US-1", T0.AddMinutes(-20), Own)]);

        Assert.Equal(T0, deactivated.Collector.InactiveSince.ToDateTimeOffset());
        Assert.Contains(acks[0].Violations, v => v.Rule.RuleId == "BASE.collector-inactive");
        Assert.Contains(acks[0].Violations, v => v.Rule.RuleId == "INGEST.contact-without-authorization");
        // A late event, from when the collector was still active (imported ones are judged the same way, by their time).
        Assert.Equal(AckStatus.Accepted, acks[1].Status);
        Assert.DoesNotContain(acks[1].Violations, v => v.Rule.RuleId == "BASE.collector-inactive");
    }

    [Fact]
    public async Task CallEventsOfAnotherAccountsCall_AreRejected()
    {
        await using var server = await StartAsync();

        var acks = await StreamAsync(Ingest(server),
        [
            Placed("x1", "US-1", T0, Own, callId: "call-x"),
            new Event { EventId = "x2", AccountId = "US-2", CollectorId = "collector-1", OccurredAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(1)), CallEnded = new CallEnded { CallId = "call-x", Outcome = CallOutcome.Conversation } },
            new Event { EventId = "x3", AccountId = "US-1", CollectorId = "collector-1", OccurredAt = new Timestamp { Seconds = T0.ToUnixTimeSeconds(), Nanos = -5 }, CallEnded = new CallEnded { CallId = "call-x" } },
        ]);

        Assert.Equal(AckStatus.Accepted, acks[0].Status);
        Assert.Equal(AckStatus.Rejected, acks[1].Status);
        Assert.Contains("another account", acks[1].ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(AckStatus.Rejected, acks[2].Status);
        Assert.Equal("events[2].occurred_at", acks[2].ErrorField);
    }

    [Fact]
    public async Task LateEvent_IsJudgedAtItsOwnTime_AndStillCounts()
    {
        await using var server = await StartAsync();
        var calls = OwnCalls("o", 7, T0.AddMinutes(-50)); // from 08:09 New York

        // The first call of the day arrives last, after the six that followed it.
        var acks = await StreamAsync(Ingest(server), [.. calls.Skip(1), calls[0]]);
        var eighth = await AuthorizeCallAsync(server);

        Assert.All(acks, a => Assert.Empty(a.Violations));
        Assert.Equal(Verdict.Deny, eighth.Verdict);
        // Day 8 in New York opens at 08:00 local (13:00 UTC in winter), whatever the clock time of the first call.
        Assert.Equal(new DateTimeOffset(T0.AddDays(7).Date, TimeSpan.Zero).AddHours(13), eighth.NextAllowedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task LateEvent_AfterTheCapWasReachedLaterThatDay_IsJudgedOnTheAttemptsBeforeIt()
    {
        await using var server = await StartAsync();
        var ingest = Ingest(server);

        // Seven calls reach Regulation F's cap; then a call placed before all of them arrives in a later request.
        var seven = await StreamAsync(ingest, OwnCalls("q", 7, T0.AddMinutes(-40)));
        var late = await StreamAsync(ingest, [Placed("q-early", "US-1", T0.AddMinutes(-50), Own)]);
        var eighth = await StreamAsync(ingest, [Placed("q7", "US-1", T0, Own)]);

        Assert.All(seven, a => Assert.Empty(a.Violations));
        Assert.Empty(late[0].Violations);
        Assert.Contains(eighth[0].Violations, v => v.Rule.RuleId == "US-REGF.call-frequency");
    }

    [Fact]
    public async Task ImportedHistory_CountsInTheWindows_WithoutAlerting()
    {
        await using var server = await StartAsync();
        using var import = Ingest(server).ImportHistory(cancellationToken: Ct);
        await import.RequestStream.WriteAsync(new ImportHistoryRequest
        {
            Events = { OwnCalls("h", 7, T0.AddDays(-3)), Placed("h-bad", "nope", T0, Own) },
        }, Ct);
        await import.RequestStream.CompleteAsync();
        var result = await import;
        var next = await AuthorizeCallAsync(server);

        Assert.Equal(7, result.Imported);
        Assert.Equal(1, result.Rejected);
        Assert.Equal("events[7].account_id", result.Rejections.Single().ErrorField);
        Assert.Equal(Verdict.Deny, next.Verdict);
        Assert.Equal("US-REGF.call-frequency", next.Rules.Single().RuleId);
    }

    [Fact]
    public async Task ResendOfTheLastThousand_ReturnsTheSameVerdicts()
    {
        await using var server = await StartAsync();
        var events = Enumerable.Range(0, 1500)
            .Select(i => Sms($"m{i}", i % 2 == 0 ? "US-1" : "US-2", T0.AddMilliseconds(i * 100), i % 3 == 0 ? "Payment reminder." : "Payment reminder. Reply STOP to opt out."))
            .ToList();

        var first = await StreamAsync(Ingest(server), events);
        var again = await StreamAsync(Ingest(server), events[^1000..]);

        Assert.All(first, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.All(again, a => Assert.Equal(AckStatus.Duplicate, a.Status));
        Assert.Equal(first[^1000..].Select(a => (a.EventId, a.RiskScore, string.Join(",", a.Violations.Select(v => v.Rule.RuleId)))),
            again.Select(a => (a.EventId, a.RiskScore, string.Join(",", a.Violations.Select(v => v.Rule.RuleId)))));
    }

    [Fact]
    public async Task OneInvalidEvent_AmongTenThousand_IsRejectedAlone_NamingTheField()
    {
        await using var server = await StartAsync();
        var events = Enumerable.Range(0, 10_000)
            .Select(i => Sms($"v{i}", i % 2 == 0 ? "US-1" : "US-2", T0.AddMilliseconds(i * 10), "Payment reminder. Reply STOP to opt out."))
            .ToList();
        events[5_000] = Sms("v5000", "US-1", T0, "bad number", new Destination { PhoneNumber = "12" });
        events[7_000].OccurredAt = null;

        var acks = await StreamAsync(Ingest(server), events, batchSize: 500);

        Assert.Equal(10_000, acks.Count);
        Assert.Equal(9_998, acks.Count(a => a.Status == AckStatus.Accepted));
        Assert.Equal(AckStatus.Rejected, acks[5_000].Status);
        Assert.Equal("events[0].destination.phone_number", acks[5_000].ErrorField);
        Assert.Equal(AckStatus.Rejected, acks[7_000].Status);
        Assert.Equal("events[0].occurred_at", acks[7_000].ErrorField);
    }

    [Theory]
    [InlineData("你已被法*院起诉，再不还钱就上门", "法*院", "CONTENT.impersonation")]
    [InlineData("你已被法*院起诉，再不还钱就上门", "上门", "CONTENT.threat")]
    [InlineData("ＰＯＬＩＣＥ will visit you, d e a d b e a t", "ＰＯＬＩＣＥ", "CONTENT.impersonation")]
    [InlineData("the p0l1ce have your file", "p0l1ce", "CONTENT.impersonation")]
    public async Task EvadedThreatsAndImpersonation_AreFound_AndOnlyTheExcerptIsKept(string body, string evidence, string rule)
    {
        await using var server = await StartAsync();

        var acks = await StreamAsync(Ingest(server), [Sms("c1", "US-1", T0, body + " Reply STOP to opt out.")]);

        var violation = Assert.Single(acks[0].Violations, v => v.Rule.RuleId == rule);
        Assert.Contains(evidence, violation.Excerpt, StringComparison.Ordinal);
        Assert.True(violation.Excerpt.Length <= 40);
        Assert.True(acks[0].RiskScore > 0);
    }

    [Fact]
    public async Task AnEmailSubject_IsAnalysedOnItsOwn_AndKeptWithTheBody()
    {
        await using var server = await StartAsync();
        await new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator))
            .PutPolicyAsync(new PutPolicyRequest { Document = "evidence: { keep_message_bodies: true }\n" }, cancellationToken: Ct);
        Event Email(string id, string subject, string body)
        {
            var email = Sms(id, "US-1", T0, body);
            email.Channel = Channel.Email;
            email.Destination = new Destination { EmailAddress = "jane.roe@example.com" };
            email.MessageSent.Subject = subject;
            return email;
        }

        var acks = await StreamAsync(Ingest(server), [
            Email("e1", "Pay today or you will be arrested", "Please see the attached statement. Reply STOP to opt out."),
            Email("e2", "Reply STOP to opt out", "Please see the attached statement."),
        ]);
        var bodies = await StoredBodiesAsync(server, "US-1");

        var threat = Assert.Single(acks[0].Violations, v => v.Rule.RuleId == "CONTENT.threat");
        Assert.Contains("arrested", threat.Excerpt, StringComparison.Ordinal);
        Assert.DoesNotContain(acks[0].Violations, v => v.Rule.RuleId == "CONTENT.missing-opt-out");
        Assert.Contains(acks[1].Violations, v => v.Rule.RuleId == "CONTENT.missing-opt-out"); // the notice belongs in the body
        Assert.Equal("Subject: Pay today or you will be arrested\n\nPlease see the attached statement. Reply STOP to opt out.", bodies["e1"]);
    }

    [Fact]
    public async Task AddressBookBlast_RaisesOneIncident_AndOneAlert()
    {
        await using var server = await StartAsync();
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.ComplianceOfficer));
        using var watch = alerts.Watch(new WatchRequest(), cancellationToken: Ct);
        await watch.ResponseHeadersAsync;

        var blast = Enumerable.Range(0, 6)
            .Select(i => AddressBookText($"b{i}", T0.AddMinutes(i), i))
            .ToList();
        var acks = await StreamAsync(Ingest(server), blast, batchSize: 2);
        Assert.True(await watch.ResponseStream.MoveNext(Ct));
        var alert = watch.ResponseStream.Current.Incident;
        var stored = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);

        Assert.All(acks, a => Assert.Contains(a.Violations, v => v.Rule.Severity == Severity.Critical));
        Assert.Equal("BASE.address-book-blast", alert.RuleId);
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal("US-1", alert.AccountId);
        Assert.InRange(alert.EventIds.Count, 4, 6); // raised at the 4th distinct third party, or later when batches were committed together
        Assert.Equal(alert.IncidentId, Assert.Single(stored.Incidents).IncidentId);
    }

    [Fact]
    public async Task MessageBodies_AreKeptOnlyWhereThePolicySaysSo()
    {
        await using var server = await StartAsync();
        const string Body = "Your payment of $120 is due on Friday. Reply STOP to opt out.";
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator));

        await StreamAsync(Ingest(server), [Sms("m1", "US-1", T0.AddMinutes(-2), Body)]);
        await policies.PutPolicyAsync(new PutPolicyRequest { Document = "evidence: { keep_message_bodies: true }\n" }, cancellationToken: Ct);
        await StreamAsync(Ingest(server), [Sms("m2", "US-1", T0.AddMinutes(-1), Body)]);
        var bodies = await StoredBodiesAsync(server, "US-1");

        // m2 happened before the policy took effect, but arrived after: what is stored follows the policy in force on arrival.
        Assert.Equal(2, bodies.Count);
        Assert.Null(bodies["m1"]);
        Assert.Equal(Body, bodies["m2"]);
    }

    [Fact]
    public async Task RiskScores_WeighViolations_AsTheLendersPolicySays()
    {
        await using var server = await StartAsync();
        const string Body = "Your payment of $120 is due on Friday."; // a text without an opt-out notice: a medium violation
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator));

        var underBaseline = await StreamAsync(Ingest(server), [Sms("w1", "US-1", T0.AddMinutes(-2), Body)]);
        await policies.PutPolicyAsync(new PutPolicyRequest { Document = "scoring: { medium: 25 }\n" }, cancellationToken: Ct);
        // Weighed as the policy in force at the event's time says, as its rules are judged.
        var underPolicy = await StreamAsync(Ingest(server), [Sms("w2", "US-1", T0.AddMinutes(1), Body)]);
        var outOfOrder = await Assert.ThrowsAsync<RpcException>(() =>
            policies.PutPolicyAsync(new PutPolicyRequest { Document = "scoring: { low: 30 }\n" }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal("CONTENT.missing-opt-out", Assert.Single(underBaseline[0].Violations).Rule.RuleId);
        Assert.Equal(Severity.Medium, Assert.Single(underPolicy[0].Violations).Rule.Severity);
        Assert.Equal((15, 25), (underBaseline[0].RiskScore, underPolicy[0].RiskScore));
        Assert.Equal(StatusCode.InvalidArgument, outOfOrder.StatusCode);
        var problem = Assert.Single(outOfOrder.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations);
        Assert.Equal("document: scoring", problem.Field);
        Assert.Contains("low (30) weighs more than medium (15)", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddressBookBlast_FollowsTheLendersPolicy()
    {
        await using var server = await StartAsync();
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator));
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor));
        Event Text(int i) => AddressBookText($"p{i}", T0.AddMinutes(i - 3), i);

        await StreamAsync(Ingest(server), [Text(1), Text(2)]);
        var underDefault = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);
        await policies.PutPolicyAsync(new PutPolicyRequest { Document = "overrides:\n  BASE.address-book-blast: { max_third_parties: 1 }\n" }, cancellationToken: Ct);
        var acks = await StreamAsync(Ingest(server), [Text(3)]);
        var underPolicy = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);

        Assert.Empty(underDefault.Incidents);
        Assert.Contains(acks[0].Violations, v => v.Rule.RuleId == "BASE.address-book-blast");
        var incident = Assert.Single(underPolicy.Incidents);
        Assert.Equal("BASE.address-book-blast", incident.RuleId);
        Assert.Equal(["p1", "p2", "p3"], incident.EventIds.Order(StringComparer.Ordinal));
        Assert.Contains("at most 1", incident.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddressBookBlast_CompletedByALateEvent_RaisesTheIncident()
    {
        await using var server = await StartAsync();
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor));
        Event Text(int i, int minutesAgo) => AddressBookText($"l{i}", T0.AddMinutes(-minutesAgo), i);

        await StreamAsync(Ingest(server), [Text(1, 30), Text(2, 20), Text(3, 10)]);
        var before = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);
        await StreamAsync(Ingest(server), [Text(4, 40)]);
        var after = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);

        Assert.Empty(before.Incidents);
        var incident = Assert.Single(after.Incidents);
        Assert.Equal(["l1", "l2", "l3", "l4"], incident.EventIds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AddressBookBlasts_OnDifferentDays_AreEachReported_TheLaterOneFirst()
    {
        await using var server = await StartAsync();
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor));

        await StreamAsync(Ingest(server), Blast("new", T0.AddMinutes(-10), 10));
        await StreamAsync(Ingest(server), Blast("old", T0.AddHours(-40), 20));
        var incidents = (await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct)).Incidents;

        Assert.Equal(["new", "old"], incidents.Select(i => i.EventIds[0][..3]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AddressBookBlast_NewInABatch_WithALateContactOfAReportedOne_IsReported()
    {
        await using var server = await StartAsync();
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor));

        await StreamAsync(Ingest(server), Blast("old", T0.AddHours(-40), 20));
        var late = AddressBookText("old-late", T0.AddHours(-39), 30);
        await StreamAsync(Ingest(server), [late, .. Blast("new", T0.AddMinutes(-10), 10)]);
        var incidents = (await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct)).Incidents;

        Assert.Equal(["new", "old"], incidents.Select(i => i.EventIds[0][..3]).Order(StringComparer.Ordinal));
    }

    /// <summary>A neutral text about US-1 to the unregistered number +1 646 555 01<paramref name="number"/>: a number from the borrower's address book.</summary>
    private static Event AddressBookText(string id, DateTimeOffset at, int number) =>
        Sms(id, "US-1", at, "Please ask Jane to call us back.", new Destination { PhoneNumber = $"+1 646 555 01{number:00}" });

    /// <summary>Four texts about US-1, a minute apart from <paramref name="at"/>, to four unregistered numbers from +1 646 555 01{first}.</summary>
    private static List<Event> Blast(string name, DateTimeOffset at, int first) =>
        Enumerable.Range(0, 4)
            .Select(i => AddressBookText($"{name}-{i}", at.AddMinutes(i), first + i))
            .ToList();

    [Fact]
    public async Task AddressBookBlast_InShadowMode_StillRaisesItsIncident_SayingSo()
    {
        await using var server = await StartAsync();
        var policies = new PolicyService.PolicyServiceClient(server.Channel(server.Keys.Administrator));
        var alerts = new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor));
        await policies.PutPolicyAsync(new PutPolicyRequest { Document = "shadow: [BASE.address-book-blast]\n" }, cancellationToken: Ct);
        var texts = Enumerable.Range(1, 4)
            .Select(i => AddressBookText($"s{i}", T0, i))
            .ToList();

        var acks = await StreamAsync(Ingest(server), texts);
        var incidents = await alerts.ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);

        var incident = Assert.Single(incidents.Incidents);
        Assert.Equal("BASE.address-book-blast", incident.RuleId);
        Assert.Contains("shadow mode", incident.Summary, StringComparison.Ordinal);
        Assert.Contains(acks[3].Violations, v => v.Rule.RuleId == "BASE.address-book-blast" && v.Rule.Effect == RuleEffect.ShadowDeny);
    }

    [Fact]
    public async Task DebtMentionToAnUnknownNumber_RaisesACriticalIncident()
    {
        await using var server = await StartAsync();

        var acks = await StreamAsync(Ingest(server), [Sms("d1", "US-1", T0, "Tell Jane her loan is overdue and she owes us $500.", new Destination { PhoneNumber = "+1 646 555 0100" })]);
        var stored = await new AlertService.AlertServiceClient(server.Channel(server.Keys.Auditor)).ListIncidentsAsync(new ListIncidentsRequest(), cancellationToken: Ct);

        Assert.Contains(acks[0].Violations, v => v.Excerpt.Length > 0);
        Assert.Equal("INGEST.debt-disclosure-unknown-number", Assert.Single(stored.Incidents).RuleId);
    }

    [Fact]
    public async Task RefusalAndConsumerRequests_SetFlagsThatTheGateHonours()
    {
        await using var server = await StartAsync();

        await StreamAsync(Ingest(server),
        [
            new Event { EventId = "stop-1", AccountId = "US-2", OccurredAt = Timestamp.FromDateTimeOffset(T0), ConsumerRequest = new ConsumerRequest { Type = ConsumerRequestType.StopContact, Note = "letter received" } },
        ]);
        var decision = await AuthorizeCallAsync(server, "US-2");

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Contains(decision.Rules, r => r.RuleId == "US-REGF.cease");
    }

    [Fact]
    public async Task RequestsScoredWhileEarlierOnesAreStillBeingWritten_SeeTheirChanges()
    {
        await using var server = await StartAsync();
        var calls = OwnCalls("p", 8, T0.AddMinutes(-20));
        var stop = new Event { EventId = "stop-2", AccountId = "US-2", OccurredAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(-30)), ConsumerRequest = new ConsumerRequest { Type = ConsumerRequestType.StopContact } };

        // One event per request, sent without waiting: consecutive requests fall into different group commits, and a
        // batch is scored while the one before it is still being written.
        var acks = await StreamAsync(Ingest(server), [stop, .. calls, Sms("after-stop", "US-2", T0, "Reply STOP to opt out."), calls[3]], batchSize: 1);

        Assert.All(acks[..8], a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.All(acks[1..8], a => Assert.DoesNotContain(a.Violations, v => v.Rule.RuleId == "US-REGF.call-frequency"));
        Assert.Contains(acks[8].Violations, v => v.Rule.RuleId == "US-REGF.call-frequency"); // the 8th call in 7 days
        Assert.Contains(acks[9].Violations, v => v.Rule.RuleId == "US-REGF.cease");          // after the stop request
        Assert.Equal(AckStatus.Duplicate, acks[10].Status);                                   // p3 again, same verdict
        Assert.Equal(acks[4].Violations, acks[10].Violations);
    }

    [Fact]
    public async Task LargeBatchScoredInTwoLanes_GetsTheVerdictsOfSmallBatches()
    {
        // The same 600 events, once as one request (one batch, scored in two lanes split by borrower) and once in
        // requests of 40 sent one after another (batches too small to split), to two fresh servers.
        var events = LaneMix();
        await using var lanes = await StartAsync();
        await AddAccountsAsync(lanes, "US-3", "US-4");
        var together = await StreamAsync(Ingest(lanes), events, batchSize: events.Count);

        await using var single = await StartAsync();
        await AddAccountsAsync(single, "US-3", "US-4");
        var apart = new List<EventAck>();
        foreach (var chunk in events.Chunk(40))
        {
            apart.AddRange(await StreamAsync(Ingest(single), chunk));
        }

        Assert.Equal(events.Count, together.Count);
        Assert.Equal(apart.Select(VerdictText), together.Select(VerdictText));
        // The mix reaches every path the lanes must agree on.
        Assert.Contains(together, a => a.Violations.Any(v => v.Rule.RuleId == "US-REGF.call-frequency"));
        Assert.Contains(together, a => a.Violations.Any(v => v.Rule.RuleId == "US-REGF.cease"));
        Assert.Contains(together, a => a.Violations.Any(v => v.Rule.RuleId == "INGEST.unknown-decision"));
        Assert.Contains(together, a => a.Violations.Any(v => v.Rule.RuleId == "US-REGF.third-parties"));
        Assert.Equal(2, together.Count(a => a.Status == AckStatus.Duplicate));
        Assert.Contains(together, a => a.Status == AckStatus.Rejected && a.ErrorMessage.Contains("another account", StringComparison.Ordinal));
        Assert.Contains(together, a => a.Status == AckStatus.Rejected && a.ErrorField.EndsWith(".occurred_at", StringComparison.Ordinal));
    }

    // The field names the event's place in its own request ("events[4]"), which differs between the two ways of sending.
    /// <summary>Each stored event's body (null where none was kept), by event id, from the account's evidence bundle.</summary>
    private static async Task<Dictionary<string, string?>> StoredBodiesAsync(GateFixture server, string accountId)
    {
        var auditor = new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor));
        var bundle = await EvidenceBundle.DownloadAsync(auditor, new ExportEvidenceRequest { AccountId = accountId });
        return bundle.Events().ToDictionary(e => e.GetProperty("eventId").GetString()!, e => e.GetProperty("body").GetString());
    }

    private static string VerdictText(EventAck a) =>
        $"{a.EventId} {a.Status} {System.Text.RegularExpressions.Regex.Replace(a.ErrorField, @"^events\[\d+\]", "events[]")} {a.RiskScore:0.###} {string.Join(",", a.Violations.Select(v => v.Rule.RuleId).Order(StringComparer.Ordinal))}";

    private static async Task AddAccountsAsync(GateFixture server, params string[] ids)
    {
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem));
        foreach (var id in ids)
        {
            await registry.UpsertAccountAsync(new UpsertAccountRequest
            {
                Account = new Account
                {
                    AccountId = id,
                    BorrowerId = $"borrower-{id}",
                    Location = new Location { Region = "US-NY" },
                    ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = $"+1 212 555 01{id[^1]}0" } },
                },
            }, cancellationToken: Ct);
        }
    }

    /// <summary>Calls and their ends, texts (some to a third party, some threatening), a stop request, duplicates and refusals over four accounts.</summary>
    private static List<Event> LaneMix()
    {
        var accounts = new[] { "US-1", "US-2", "US-3", "US-4" };
        var events = new List<Event>();
        for (var i = 0; i < 600; i++)
        {
            var account = accounts[i % 4];
            var at = T0.AddSeconds(i - 600); // the ten minutes before the pinned clock
            var id = $"m{i:D3}";
            events.Add((i % 10) switch
            {
                0 => Placed(id, account, at, Own, callId: $"call-{i}"),
                4 => new Event { EventId = id, AccountId = account, CollectorId = "collector-1", OccurredAt = Timestamp.FromDateTimeOffset(at), CallEnded = new CallEnded { CallId = $"call-{i - 4}", Outcome = CallOutcome.NoAnswer } },
                5 when account == "US-2" => Sms(id, account, at, "Your payment is late. Reply STOP to opt out.", new Destination { PhoneNumber = "+1 212 555 0199" }),
                7 => Sms(id, account, at, i % 3 == 0 ? "Pay today or you will be arrested. Reply STOP to opt out." : "Hello, please call us. Reply STOP to opt out."),
                _ => Sms(id, account, at, "Hello, a reminder about your account."),
            });
        }

        events[200] = new Event { EventId = "stop-3", AccountId = "US-3", OccurredAt = Timestamp.FromDateTimeOffset(T0.AddSeconds(-400)), ConsumerRequest = new ConsumerRequest { Type = ConsumerRequestType.StopContact } };
        events[300] = events[12].Clone();                                     // the same event again
        events[301] = Sms("m013", "US-1", T0.AddSeconds(-299), "Hello again."); // an id already used by another account's event
        events[302] = new Event { EventId = "cross", AccountId = "US-3", CollectorId = "collector-1", OccurredAt = Timestamp.FromDateTimeOffset(T0.AddSeconds(-298)), CallEnded = new CallEnded { CallId = "call-0" } };
        events[303] = Placed("quotes-unknown", "US-4", T0.AddSeconds(-297), Own, decisionId: "dec_unknown");
        events[304] = Sms("no-time", "US-1", T0, "Hello.");
        events[304].OccurredAt = null;
        return events;
    }

    [Fact]
    public async Task Stream_NeedsAWritingRole()
    {
        await using var server = await StartAsync();
        using var call = new EventIngestService.EventIngestServiceClient(server.Channel(server.Keys.Auditor)).Stream(cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await call.RequestStream.WriteAsync(new StreamRequest(), Ct);
            await call.ResponseStream.MoveNext(Ct);
        });

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }
}
