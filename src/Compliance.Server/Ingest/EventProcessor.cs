using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Compliance.Domain.Content;
using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Server.Configuration;
using Compliance.Server.Gate;
using Compliance.Server.Mapping;
using Compliance.Storage;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Ingest;

/// <summary>What one group commit produced: an acknowledgement per event (in order) and the incidents raised.</summary>
internal sealed record BatchResult(V1.EventAck[] Acks, List<Incident> Incidents, Dictionary<(string LenderId, string AccountId), Account> ChangedAccounts);

/// <summary>
/// Scores and records a batch of events inside one ingest transaction. Each contact is checked against the same
/// rules as the gate, at the event's own time and against the attempts before it; an event that did not ask the
/// gate and would have been denied is a "contact without authorization". Content is analysed, flags the lender
/// reports (refusals, consumer requests) are set, and address-book blasts raise incidents.
/// </summary>
internal sealed class EventProcessor(
    AccountCache accounts,
    PolicyRegistry policies,
    DestinationResolver resolver,
    ContentAnalyzer content,
    HistoryCache cache,
    IOptions<ComplianceOptions> options,
    TimeProvider clock)
{
    public const string UnauthorizedRule = EventJudge.UnauthorizedRule;
    public const string DespiteDenyRule = EventJudge.DespiteDenyRule;
    public const string UnknownDecisionRule = EventJudge.UnknownDecisionRule;
    public const string DisclosureRule = EventJudge.DisclosureRule;

    private const long MinSeconds = -62_135_596_800; // 0001-01-01
    private const long MaxSeconds = 253_402_300_799; // 9999-12-31
    private const int MaxNoteLength = 2000;
    /// <summary>From this many events a batch is checked and scored in two halves at once.</summary>
    private const int SplitAt = 512;

    private readonly IngestOptions _options = options.Value.Ingest;

    /// <summary>Why an event is refused: the field and the reason.</summary>
    private sealed class Rejected(string field, string reason) : Exception(reason)
    {
        public string Field { get; } = field;
    }

    /// <summary>
    /// What the batch has read and changed so far, so later events see earlier ones. Two lanes score at once: what
    /// they share is safe for that (histories are only read, each list by its own borrower's lane; accounts and
    /// third-party contacts are concurrent maps; incidents and changed accounts are taken under the state's lock).
    /// </summary>
    private sealed class BatchState(IIngestSession session, int events)
    {
        public Lock Sync { get; } = new();
        /// <summary>Serialised when lanes share it (<see cref="SerializedSession"/>).</summary>
        public IIngestSession Session { get; } = session;
        public Dictionary<(string, string), AttemptWindow<AttemptRow>> Histories { get; } = new(events);
        public ConcurrentDictionary<(string, string), Account> Accounts { get; } = [];
        public ConcurrentDictionary<(string, string), (Account Account, List<DateTimeOffset> Contacts)> ThirdPartyContacts { get; } = [];
        public List<Incident> Incidents { get; } = [];
        public HashSet<(string, string)> ChangedAccounts { get; } = [];
    }

    /// <summary>
    /// The attempts a contact is judged against: its borrower's window up to the contact's time, without the reservation
    /// the contact confirms, read in place (<see cref="AttemptWindow{TRow}.Before"/>). One per scoring lane, reused.
    /// </summary>
    private sealed class PriorAttempts
    {
        private readonly AttemptWindow<AttemptRow>.View _view = new();

        public IReadOnlyList<Attempt> Of(AttemptWindow<AttemptRow> window, DateTimeOffset at, string? excluded) => window.Before(at, excluded, _view);
    }

    /// <summary>An event with what it refers to, loaded and checked.</summary>
    /// <summary>
    /// A checked event, with the policy in force at its own time, which judges and weighs it, and the borrower's accounts
    /// where that policy reads them (loaded here, before the batch writes anything: they carry flags, which the batch's
    /// own transaction may be writing).
    /// </summary>
    private sealed record Item(PendingEvent Pending, EventKind Kind, Account Account, Collector? Collector, Channel Channel, DateTimeOffset At, string CallId,
        CompiledPolicy Policy, IReadOnlyList<Account>? BorrowerAccounts = null);

    /// <param name="accounts">Accounts as batches not yet committed left them (flags they set), to use instead of the stored ones.</param>
    public async Task<BatchResult> ProcessAsync(IIngestSession session, List<PendingEvent> batch, CancellationToken ct,
        IReadOnlyDictionary<(string, string), Account>? accounts = null)
    {
        // A batch this large is checked, and later scored, in two halves at once.
        var split = batch.Count >= SplitAt;
        var state = new BatchState(split ? new SerializedSession(session) : session, batch.Count);
        foreach (var (key, account) in accounts ?? new Dictionary<(string, string), Account>())
        {
            state.Accounts[key] = account;
        }

        var acks = new V1.EventAck[batch.Count];
        var existing = new Dictionary<(string, string), StoredEvent>();
        foreach (var group in batch.GroupBy(p => p.LenderId))
        {
            // Distinct ids in batch order, in collections sized once (Distinct grew its set from empty every batch).
            var size = group.TryGetNonEnumeratedCount(out var n) ? n : batch.Count;
            var ids = new List<string>(size);
            var seen = new HashSet<string>(size, StringComparer.Ordinal);
            foreach (var p in group)
            {
                if (p.Event.EventId.Length > 0 && seen.Add(p.Event.EventId))
                {
                    ids.Add(p.Event.EventId);
                }
            }
            foreach (var (id, found) in await session.ExistingEventsAsync(group.Key, ids))
            {
                existing[(group.Key, id)] = found;
            }
        }

        // First pass: check and load, so every borrower's history is read once from early enough. The events are
        // independent here (caches and the registry only), so a large batch is checked in two halves at once.
        var items = new Item?[batch.Count];
        async Task LoadRangeAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var pending = batch[i];
                if (existing.TryGetValue((pending.LenderId, pending.Event.EventId), out var found))
                {
                    acks[i] = Duplicate(found);
                    continue;
                }

                try
                {
                    items[i] = await LoadAsync(pending, ct);
                }
                catch (Rejected r)
                {
                    acks[i] = Reject(pending, r.Field, r.Message);
                }
            }
        }

        if (split)
        {
            var half = batch.Count / 2;
            await Task.WhenAll(Task.Run(() => LoadRangeAsync(half, batch.Count), ct), LoadRangeAsync(0, half));
        }
        else
        {
            await LoadRangeAsync(0, batch.Count);
        }

        // Each borrower's history reaches back as far as the windows of the rules that judge its events (those of
        // each event's account, as of its time).
        var earliest = new Dictionary<(string, string), DateTimeOffset>(batch.Count);
        foreach (var item in items)
        {
            if (item is not null)
            {
                var borrower = (item.Pending.LenderId, item.Account.BorrowerId);
                var from = item.At - item.Policy.LookbackFor(item.Account);
                earliest[borrower] = earliest.TryGetValue(borrower, out var since) && since < from ? since : from;
            }
        }

        // Borrowers still missing are read together, grouped by the day their history starts, so one old imported event
        // does not drag every borrower's reads back.
        var missing = new Dictionary<(string Lender, DateTimeOffset Day), List<string>>();
        cache.ForgetUnheld();
        foreach (var ((lender, borrower), since) in earliest)
        {
            if (cache.TryGet(lender, borrower, since) is { } cached)
            {
                state.Histories[(lender, borrower)] = cached;
                continue;
            }

            var day = new DateTimeOffset(since.UtcDateTime.Date, TimeSpan.Zero);
            if (!missing.TryGetValue((lender, day), out var borrowers))
            {
                missing[(lender, day)] = borrowers = [];
            }

            borrowers.Add(borrower);
        }

        foreach (var ((lender, day), borrowers) in missing)
        {
            foreach (var (borrower, rows) in await session.HistoriesAsync(lender, borrowers, day))
            {
                var history = new AttemptWindow<AttemptRow>(rows);
                state.Histories[(lender, borrower)] = history;
                cache.Put(lender, borrower, day, history);
            }
        }

        // Scoring. Borrowers are independent of one another (each history belongs to one), so a large batch is scored
        // in two lanes at once, split by borrower; an event that may read another borrower's history (a call's later
        // event whose call is not the account's own) waits, with its borrower's later events, for the sequential pass
        // that follows. So does an event id seen earlier in the batch, which is answered from the first one's verdict.
        var stored = new StoredEvent?[batch.Count];
        var lanes = new[] { new List<int>(batch.Count), new List<int>() };
        var sequential = new List<int>();
        // Each event id's first stored occurrence in the batch, which its repeats are answered from.
        var firstOf = new Dictionary<(string, string), int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (items[i] is not { } item)
            {
                continue;
            }

            ref var first = ref CollectionsMarshal.GetValueRefOrAddDefault(firstOf, (item.Pending.LenderId, item.Pending.Event.EventId), out var repeated);
            if (repeated)
            {
                sequential.Add(i);
                continue;
            }

            first = i;

            lanes[split ? (int)((uint)StringComparer.Ordinal.GetHashCode(item.Account.BorrowerId) % 2) : 0].Add(i);
        }

        async Task<List<int>> ScoreLaneAsync(List<int> lane)
        {
            var before = new PriorAttempts();
            var waiting = new List<int>();
            var waitingBorrowers = new HashSet<(string, string)>();
            foreach (var i in lane)
            {
                var item = items[i]!;
                var borrower = (item.Pending.LenderId, item.Account.BorrowerId);
                if (split && (waitingBorrowers.Contains(borrower) || ReadsOtherHistories(state, item)))
                {
                    waitingBorrowers.Add(borrower);
                    waiting.Add(i);
                    continue;
                }

                (acks[i], stored[i]) = await ScoreOneAsync(state, item, before);
            }

            return waiting;
        }

        var waitingLanes = split ? await Task.WhenAll(Task.Run(() => ScoreLaneAsync(lanes[1]), ct), ScoreLaneAsync(lanes[0])) : [await ScoreLaneAsync(lanes[0])];
        foreach (var waiting in waitingLanes)
        {
            sequential.AddRange(waiting);
        }

        sequential.Sort();
        var beforeAlone = new PriorAttempts();
        foreach (var i in sequential)
        {
            var item = items[i]!;
            var key = (item.Pending.LenderId, item.Pending.Event.EventId);
            var first = firstOf[key];
            if (first != i && stored[first] is not null)
            {
                acks[i] = acks[first].Clone();
                acks[i].Status = V1.AckStatus.Duplicate;
                continue;
            }

            (acks[i], stored[i]) = await ScoreOneAsync(state, item, beforeAlone);
            if (stored[i] is not null)
            {
                firstOf[key] = i;
            }
        }

        // The batch's rows are stored together once all are scored (they do not feed later scoring), in batch order.
        await session.AddEventsAsync([.. stored.OfType<StoredEvent>()]);
        await DetectBlastsAsync(state);
        return new BatchResult(acks, state.Incidents, state.ChangedAccounts.ToDictionary(k => k, k => state.Accounts[k]));
    }

    /// <summary>A batch that was not committed leaves the cached histories ahead of the store: drop them.</summary>
    public void AfterFailure() => cache.InvalidateAll();

    /// <summary>Evicts the accounts whose flags the batch changed, once it is committed.</summary>
    public void AfterCommit(BatchResult result)
    {
        foreach (var ((lender, accountId), account) in result.ChangedAccounts)
        {
            accounts.EvictAccount(lender, accountId);
            // A consumer's request on one debt applies to the borrower's others, which read it through the borrower's accounts.
            accounts.EvictBorrower(lender, account.BorrowerId);
        }
    }

    private async ValueTask<Item> LoadAsync(PendingEvent pending, CancellationToken ct)
    {
        var e = pending.Event;
        CheckId(e.EventId, pending, "event_id");
        CheckId(e.AccountId, pending, "account_id");
        if (e.DecisionId.Length > 0)
        {
            CheckId(e.DecisionId, pending, "decision_id");
        }

        var kind = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallPlaced => EventKind.CallPlaced,
            V1.Event.KindOneofCase.CallConnected => EventKind.CallConnected,
            V1.Event.KindOneofCase.CallEnded => EventKind.CallEnded,
            V1.Event.KindOneofCase.MessageSent => EventKind.MessageSent,
            V1.Event.KindOneofCase.VoicemailLeft => EventKind.VoicemailLeft,
            V1.Event.KindOneofCase.Visit => EventKind.Visit,
            V1.Event.KindOneofCase.Refusal => EventKind.Refusal,
            V1.Event.KindOneofCase.ConsumerRequest => EventKind.ConsumerRequest,
            V1.Event.KindOneofCase.InboundCall => EventKind.InboundCall,
            V1.Event.KindOneofCase.ValidationNoticeSent => EventKind.ValidationNoticeSent,
            _ => throw new Rejected($"{pending.Field}.kind", "one of call_placed, call_connected, call_ended, message_sent, voicemail_left, visit, refusal, consumer_request, inbound_call, validation_notice_sent is required"),
        };

        if (e.OccurredAt is null)
        {
            throw new Rejected($"{pending.Field}.occurred_at", "is required");
        }

        if (e.OccurredAt.Nanos is < 0 or > 999_999_999 || e.OccurredAt.Seconds is < MinSeconds or > MaxSeconds)
        {
            throw new Rejected($"{pending.Field}.occurred_at", "is not a valid timestamp");
        }

        var at = Proto.ToInstant(e.OccurredAt)!.Value;
        var now = clock.GetUtcNow();
        var window = pending.Imported ? _options.ImportWindow : _options.LateWindow;
        if (at > now + _options.FutureSkew)
        {
            throw new Rejected($"{pending.Field}.occurred_at", $"lies more than {_options.FutureSkew} in the future");
        }

        if (at < now - window)
        {
            throw new Rejected($"{pending.Field}.occurred_at", pending.Imported
                ? $"is older than the import window ({window.TotalDays:0} days)"
                : $"is older than the late-arrival window ({window.TotalDays:0} days); load older events with ImportHistory");
        }

        var channel = ChannelOf(kind, e, pending);
        var account = await accounts.AccountAsync(pending.LenderId, e.AccountId, ct) ?? throw new Rejected($"{pending.Field}.account_id", $"account '{e.AccountId}' not found");
        Collector? collector = null;
        if (kind is not (EventKind.Refusal or EventKind.ConsumerRequest or EventKind.InboundCall or EventKind.ValidationNoticeSent) || e.CollectorId.Length > 0)
        {
            CheckId(e.CollectorId, pending, "collector_id");
            collector = await accounts.CollectorAsync(pending.LenderId, e.CollectorId, ct) ?? throw new Rejected($"{pending.Field}.collector_id", $"collector '{e.CollectorId}' not found");
        }

        var callId = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallPlaced => e.CallPlaced.CallId,
            V1.Event.KindOneofCase.CallConnected => e.CallConnected.CallId,
            V1.Event.KindOneofCase.CallEnded => e.CallEnded.CallId,
            V1.Event.KindOneofCase.VoicemailLeft => e.VoicemailLeft.CallId,
            V1.Event.KindOneofCase.InboundCall => e.InboundCall.CallId,
            _ => "",
        };
        var callField = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallPlaced => "call_placed.call_id",
            V1.Event.KindOneofCase.CallConnected => "call_connected.call_id",
            V1.Event.KindOneofCase.CallEnded => "call_ended.call_id",
            V1.Event.KindOneofCase.InboundCall => "inbound_call.call_id",
            _ => "voicemail_left.call_id",
        };
        if (kind is EventKind.CallConnected or EventKind.CallEnded && callId.Length == 0)
        {
            throw new Rejected($"{pending.Field}.{callField}", "is required to join the call's events");
        }

        if (callId.Length > 0)
        {
            CheckId(callId, pending, callField);
        }

        var (durationField, callDuration) = e.KindCase switch
        {
            V1.Event.KindOneofCase.CallEnded => ("call_ended.duration", e.CallEnded.Duration),
            V1.Event.KindOneofCase.InboundCall => ("inbound_call.duration", e.InboundCall.Duration),
            _ => ("", null),
        };
        if (callDuration is { } duration
            && (duration.Seconds < 0 || duration.Nanos is < 0 or > 999_999_999 || duration.Seconds > 7 * 24 * 3600))
        {
            throw new Rejected($"{pending.Field}.{durationField}", "must be between zero and seven days");
        }

        if (e.KindCase == V1.Event.KindOneofCase.ConsumerRequest && e.ConsumerRequest.Type == V1.ConsumerRequestType.ConsentToCalls)
        {
            if (!Proto.IsValid(e.ConsumerRequest.ConsentWindowStart) || !Proto.IsValid(e.ConsumerRequest.ConsentWindowEnd))
            {
                throw new Rejected($"{pending.Field}.consumer_request.{(Proto.IsValid(e.ConsumerRequest.ConsentWindowStart) ? "consent_window_end" : "consent_window_start")}", Proto.TimeRule);
            }

            var (start, end) = (Proto.ToInstant(e.ConsumerRequest.ConsentWindowStart), Proto.ToInstant(e.ConsumerRequest.ConsentWindowEnd));
            if (start < at)
            {
                throw new Rejected($"{pending.Field}.consumer_request.consent_window_start", "must not be before occurred_at (when consent was given)");
            }

            if (end <= (start ?? at))
            {
                throw new Rejected($"{pending.Field}.consumer_request.consent_window_end", "must be after the window's start");
            }
        }

        if (e.KindCase == V1.Event.KindOneofCase.ConsumerRequest && !Enum.IsDefined(e.ConsumerRequest.WrongNumberSource))
        {
            throw new Rejected($"{pending.Field}.consumer_request.wrong_number_source", "is not a known WrongNumberSource");
        }

        if (e.KindCase == V1.Event.KindOneofCase.ValidationNoticeSent && !Enum.IsDefined(e.ValidationNoticeSent.Delivery))
        {
            throw new Rejected($"{pending.Field}.validation_notice_sent.delivery", "is not a known ValidationDelivery");
        }

        var note = e.KindCase switch
        {
            V1.Event.KindOneofCase.Refusal => ("refusal.note", e.Refusal.Note),
            V1.Event.KindOneofCase.ConsumerRequest => ("consumer_request.note", e.ConsumerRequest.Note),
            V1.Event.KindOneofCase.ValidationNoticeSent => ("validation_notice_sent.note", e.ValidationNoticeSent.Note),
            _ => ("", ""),
        };
        if (note.Item2.Length > MaxNoteLength)
        {
            throw new Rejected($"{pending.Field}.{note.Item1}", $"must be at most {MaxNoteLength} characters");
        }

        var policy = policies.For(pending.LenderId, at);
        var borrowerAccounts = policy.ReadsBorrowerAccounts(account) ? await accounts.BorrowerAccountsAsync(pending.LenderId, account.BorrowerId, ct) : null;
        return new Item(pending, kind, account, collector, channel, at, callId, policy, borrowerAccounts);
    }

    /// <summary>Scores one event: its acknowledgement, and its row when it is to be stored.</summary>
    private async ValueTask<(V1.EventAck Ack, StoredEvent? Stored)> ScoreOneAsync(BatchState state, Item item, PriorAttempts before)
    {
        try
        {
            return await ScoreAndStoreAsync(state, item, before);
        }
        catch (Rejected r)
        {
            return (Reject(item.Pending, r.Field, r.Message), null);
        }
        catch (Exception e) when (e is not (OperationCanceledException or System.Data.Common.DbException))
        {
            // One event the service cannot handle must not sink its batch; store errors still fail the batch (all resend).
            return (Reject(item.Pending, item.Pending.Field, $"could not be processed ({e.GetType().Name})"), null);
        }
    }

    /// <summary>A call's later event whose call is not among its account's attempts may be looked for in other borrowers' histories.</summary>
    private static bool ReadsOtherHistories(BatchState state, Item item) =>
        item.Kind is EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft
        && !state.Histories[(item.Pending.LenderId, item.Account.BorrowerId)].TryFindCall(item.CallId, item.Account.AccountId, out _);

    private async ValueTask<(V1.EventAck Ack, StoredEvent Stored)> ScoreAndStoreAsync(BatchState state, Item item, PriorAttempts before)
    {
        var lender = item.Pending.LenderId;
        var account = state.Accounts.TryGetValue((lender, item.Account.AccountId), out var changed) ? changed : item.Account;
        var e = item.Pending.Event;
        var history = state.Histories[(lender, account.BorrowerId)];
        var violations = new List<Violation>();
        Resolved? destination = null;
        var outcome = AttemptOutcome.Pending;
        var durationMs = 0L;
        string? text = null;
        IReadOnlyList<string>? profiles = null;
        var counts = EventCounting.None;
        var use = ContactPointUse.Unspecified;
        AttemptRow? call = history.TryFindCall(item.CallId, account.AccountId, out var found) ? found : null;

        switch (item.Kind)
        {
            case EventKind.CallPlaced or EventKind.MessageSent or EventKind.Visit:
            case EventKind.VoicemailLeft when call is null:
                outcome = item.Kind switch
                {
                    EventKind.MessageSent => AttemptOutcome.Delivered,
                    EventKind.Visit => AttemptOutcome.Visited,
                    EventKind.VoicemailLeft => AttemptOutcome.Voicemail,
                    _ => AttemptOutcome.Pending,
                };
                text = item.Kind switch
                {
                    EventKind.MessageSent => e.MessageSent.Body,
                    EventKind.VoicemailLeft => e.VoicemailLeft.Transcript,
                    _ => null,
                };
                destination = Resolve(e, item, account);
                use = destination.Use;
                (var gate, counts) = await ContactAsync(state, item, account, history, destination, outcome, violations, before);
                profiles = gate.Profiles;
                if (gate.DestinationClass != destination.Destination.Class)
                {
                    // A number recorded as not the consumer's: the contact was with a stranger, and is recorded so.
                    destination = destination with { Destination = destination.Destination with { Class = gate.DestinationClass, ContactPoint = null, Party = null } };
                }

                break;

            case EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft:
                // Not among the account's attempts: a reservation the gate made under this call id, or (to say so) a call of
                // another account this batch has seen.
                var row = call ?? await state.Session.AttemptOfCallAsync(lender, item.CallId) ?? CallOfAnotherAccount(state, item);
                if (row.Attempt.AccountId != account.AccountId)
                {
                    throw new Rejected($"{item.Pending.Field}.call_id", $"call '{item.CallId}' was placed about another account");
                }

                (outcome, durationMs, text) = item.Kind switch
                {
                    EventKind.CallConnected => (e.CallConnected.Conversation ? AttemptOutcome.Conversation : AttemptOutcome.AnsweredNoConversation, 0L, (string?)null),
                    EventKind.CallEnded => (OutcomeOf(e.CallEnded.Outcome, row.Attempt.Outcome), (long)(e.CallEnded.Duration?.ToTimeSpan().TotalMilliseconds ?? 0), e.CallEnded.Transcript),
                    _ => (AttemptOutcome.Voicemail, 0L, e.VoicemailLeft.Transcript),
                };
                // The call's attempt takes this outcome: an event's attempt through this event's row (counted as the call's
                // outcome when histories are read), a gate reservation's in its own row.
                if (!row.AttemptId.StartsWith("evt:", StringComparison.Ordinal))
                {
                    await state.Session.SetOutcomeAsync(lender, row.AttemptId, outcome);
                }

                counts = EventCounting.CallOutcome;
                use = row.Attempt.DestinationUse;
                history.Upsert(row with { Attempt = row.Attempt with { Outcome = outcome } });
                destination = new Resolved(new ResolvedDestination(row.Attempt.DestinationClass, row.Attempt.DestinationHash, null, null, []), "", row.Attempt.DestinationUse);
                break;

            case EventKind.Refusal:
                var party = PartyOf(account, e.Refusal.PartyId)
                    ?? throw new Rejected($"{item.Pending.Field}.refusal.party_id", Validate.IdProblem(e.Refusal.PartyId) ?? $"is not a party of account '{account.AccountId}'");
                await AddFlagAsync(state, lender, account, FlagType.ThirdPartyRefused, Channel.Unspecified, party.PartyId, e.Refusal.Note, item);
                break;

            case EventKind.ConsumerRequest when e.ConsumerRequest.Type == V1.ConsumerRequestType.ConsentToCalls:
                account = await AddFlagAsync(state, lender, account, FlagType.ConsentToContact, (Channel)e.ConsumerRequest.OptOutChannel, "", e.ConsumerRequest.Note, item,
                    windowFrom: Proto.ToInstant(e.ConsumerRequest.ConsentWindowStart), expires: Proto.ToInstant(e.ConsumerRequest.ConsentWindowEnd));
                break;

            case EventKind.ConsumerRequest when e.ConsumerRequest.Type == V1.ConsumerRequestType.WrongNumber:
                var point = Resolve(e, item, account).Destination.ContactPoint
                    ?? throw new Rejected($"{item.Pending.Field}.destination", $"a wrong number must name a contact point registered on account '{account.AccountId}'");
                var source = e.ConsumerRequest.WrongNumberSource == V1.WrongNumberSource.Unspecified ? WrongNumberSource.ThirdParty : (WrongNumberSource)e.ConsumerRequest.WrongNumberSource;
                account = await AddFlagAsync(state, lender, account, FlagType.WrongNumber, Channel.Unspecified, "", e.ConsumerRequest.Note, item, (int)source,
                    contactPointId: point.ContactPointId);
                break;

            case EventKind.ConsumerRequest:
                if (EventJudge.FlagOf((ConsumerRequestType)e.ConsumerRequest.Type) is { } flagType)
                {
                    await AddFlagAsync(state, lender, account, flagType, (Channel)e.ConsumerRequest.OptOutChannel, "", e.ConsumerRequest.Note, item);
                }

                break;

            case EventKind.InboundCall:
                // The consumer called: a conversation for the wait and the records, not a placed call, and not judged as
                // a contact the collector made.
                outcome = e.InboundCall.Conversation ? AttemptOutcome.InboundConversation : AttemptOutcome.Inbound;
                durationMs = (long)(e.InboundCall.Duration?.ToTimeSpan().TotalMilliseconds ?? 0);
                text = e.InboundCall.Transcript;
                destination = InboundDestination(e, item, account);
                use = destination.Use;
                counts = EventCounting.Attempt;
                history.Add(new AttemptRow(string.Concat("evt:", e.EventId), item.CallId, new Attempt(item.At, account.AccountId, item.Collector?.CollectorId ?? "",
                    Channel.VoiceCall, destination.Destination.DestinationHash, destination.Destination.Class, destination.Destination.Party?.PartyId ?? "",
                    destination.Use, PurposeOf(e), outcome)));
                break;

            case EventKind.ValidationNoticeSent:
                account = await AddFlagAsync(state, lender, account, FlagType.ValidationNoticeSent, item.Channel, "", e.ValidationNoticeSent.Note, item,
                    (int)e.ValidationNoticeSent.Delivery);
                break;
        }

        if (item.Kind is not (EventKind.Refusal or EventKind.ConsumerRequest or EventKind.CallConnected or EventKind.CallEnded) && !item.Pending.Imported
            && item.Policy.JudgesValidationNotice(account))
        {
            await CheckValidationNoticeAsync(state, item, account, history, before, violations);
        }

        if (!string.IsNullOrEmpty(text))
        {
            AnalyseContent(text, item, account, destination, profiles, violations, state);
        }

        // An e-mail's subject is read first, by anyone who sees the inbox: it is analysed on its own (an opt-out
        // notice belongs in the body) and kept with the body, as its first line.
        var subject = item.Kind == EventKind.MessageSent && e.MessageSent.Subject.Length > 0 ? e.MessageSent.Subject : null;
        if (subject is not null)
        {
            AnalyseContent(subject, item, account, destination, profiles, violations, state, isSubject: true);
        }

        var risk = item.Policy.Scoring.Of(violations);
        var stored = new StoredEvent(lender, e.EventId, item.Kind, account.AccountId, account.BorrowerId, item.Collector?.CollectorId ?? "",
            e.DecisionId, item.CallId, item.Channel, PurposeOf(e), destination?.Destination.DestinationHash ?? "", destination?.Masked ?? "",
            destination?.Destination.Class ?? DestinationClass.Unspecified, destination?.Destination.Party?.PartyId ?? "", outcome, durationMs,
            item.At, item.Pending.ReceivedAt, item.Pending.Imported, risk, violations, KeptBody(lender, item, subject, text), use, counts);
        return (Accepted(e.EventId, violations, risk), stored);
    }

    /// <summary>
    /// The full body the evidence keeps, an e-mail's subject as its first line, or null: the policy in force when the
    /// event arrives decides what is stored, also for events from before it (imports, late ones). Looked up, and the
    /// text put together, only for events that have a body.
    /// </summary>
    private string? KeptBody(string lender, Item item, string? subject, string? text) =>
        (text is null && subject is null) || !policies.For(lender, item.Pending.ReceivedAt).KeepMessageBodies ? null
        : subject is null ? text
        : string.Concat("Subject: ", subject, "\n\n", text);

    /// <summary>
    /// A contact: checked as if it had asked the gate at its own time, then counted, either as the gate reservation
    /// it confirms or as an attempt of its own (the event's row, <see cref="EventCounting.Attempt"/>).
    /// </summary>
    private async ValueTask<(GateResult Result, EventCounting Counts)> ContactAsync(BatchState state, Item item, Account account, AttemptWindow<AttemptRow> history,
        Resolved destination, AttemptOutcome outcome, List<Violation> violations, PriorAttempts before)
    {
        var lender = item.Pending.LenderId;
        var e = item.Pending.Event;
        DecisionRecord? decision = null;
        var standing = GateStanding.NotAsked;
        if (e.DecisionId.Length > 0)
        {
            decision = await state.Session.DecisionAsync(lender, e.DecisionId);
            if (decision is null || decision.AccountId != account.AccountId)
            {
                decision = null;
                standing = GateStanding.UnknownDecision;
            }
            else
            {
                standing = decision.Allowed ? GateStanding.Allowed : GateStanding.Denied;
            }
        }

        // The contact is judged against what happened before it, without itself (its own reservation included).
        var prior = before.Of(history, item.At, e.DecisionId.Length > 0 ? e.DecisionId : null);
        var policy = item.Policy;
        var borrowerAccounts = BorrowerAccounts(state, item);
        var candidate = new ContactCandidate(account, item.Collector!.CollectorId, item.Collector.Kind, item.Channel, PurposeOf(e), destination.Destination, item.At,
            item.Collector.ActiveAt(item.At), borrowerAccounts);
        var verdict = EventJudge.JudgeContact(policy, candidate, prior, standing, e.DecisionId, item.Pending.Imported);
        var result = verdict.Gate;
        violations.AddRange(verdict.Violations);

        // The class the rules saw: a number recorded as not the consumer's is a stranger's.
        var seen = result.DestinationClass;
        var attempt = new Attempt(item.At, account.AccountId, item.Collector.CollectorId, item.Channel, destination.Destination.DestinationHash,
            seen, seen == destination.Destination.Class ? destination.Destination.Party?.PartyId ?? "" : "", destination.Use, PurposeOf(e), outcome);
        // An allowed decision's reservation becomes this attempt, if the store still holds it pending (not released).
        var counts = EventCounting.None;
        if (decision is { Allowed: true } && await state.Session.ConfirmReservationAsync(lender, decision.DecisionId, item.CallId, item.At))
        {
            if (outcome != AttemptOutcome.Pending)
            {
                await state.Session.SetOutcomeAsync(lender, decision.DecisionId, outcome);
            }

            history.Upsert(new AttemptRow(decision.DecisionId, item.CallId, attempt));
        }
        else
        {
            // Attempts made by events get ids of their own kind, so an event id can never collide with a decision id.
            var attemptId = string.Concat("evt:", e.EventId);
            counts = EventCounting.Attempt;
            history.Add(new AttemptRow(attemptId, item.CallId, attempt));
        }

        if (BlastLimit.IsThirdParty(seen))
        {
            var key = (lender, account.AccountId);
            // One account's events are all in one lane: its list is added to by that lane alone.
            var entry = state.ThirdPartyContacts.GetOrAdd(key, static (_, account) => (account, []), account);
            entry.Contacts.Add(item.At);
        }

        return (result, counts);
    }

    private void AnalyseContent(string text, Item item, Account account, Resolved? destination, IReadOnlyList<string>? profiles, List<Violation> violations, BatchState state,
        bool isSubject = false)
    {
        var verdict = EventJudge.JudgeContent(content, item.Policy, text, item.Channel, account, destination?.Destination.Class, profiles, isSubject);
        violations.AddRange(verdict.Violations);
        if (verdict.Disclosure is { } excerpt && destination is not null && !item.Pending.Imported)
        {
            lock (state.Sync)
            {
                if (!HasDisclosureIncident(state.Incidents, item.Pending.Event.EventId))
                {
                    state.Incidents.Add(NewIncident(item.Pending.LenderId, DisclosureRule, EventJudge.ThirdPartyCitation, account.AccountId, item.Collector?.CollectorId ?? "",
                        $"A message mentioning the debt went to a number not registered on the account ({destination.Masked}): \"{excerpt}\"",
                        [item.Pending.Event.EventId], item.At));
                }
            }
        }
    }

    /// <summary>
    /// Contacts about one account that reach more than a blast rule's limit of distinct third parties within its
    /// window, with one of this batch's contacts among them: one incident per blast, where a window that overlaps the
    /// window of an incident already raised is the same blast. A rule in shadow mode raises its incident too (it is
    /// watched, not enforced), saying so.
    /// </summary>
    private async Task DetectBlastsAsync(BatchState state)
    {
        foreach (var ((lender, accountId), (account, contacts)) in state.ThirdPartyContacts)
        {
            var history = state.Histories[(lender, account.BorrowerId)];
            foreach (var blast in EventJudge.Blasts(policies.For(lender, contacts.Max()), account, history, static r => r.Attempt, contacts))
            {
                // A blast already reported in a window overlapping this one (an incident's time is its window's end) is the same blast.
                if (!await state.Session.IncidentExistsAsync(lender, accountId, blast.Limit.RuleId, blast.End - blast.Limit.Window, blast.End + blast.Limit.Window))
                {
                    await RaiseBlastAsync(state, blast, lender, accountId);
                }
            }
        }

        foreach (var incident in state.Incidents.Where(i => i.RuleId == DisclosureRule))
        {
            await state.Session.AddIncidentAsync(incident);
        }
    }

    private async Task RaiseBlastAsync(BatchState state, BlastFinding<AttemptRow> blast, string lender, string accountId)
    {
        var counted = blast.Counted;
        var incident = NewIncident(lender, blast.Limit.RuleId, blast.Limit.Citation, accountId, counted[^1].Attempt.CollectorId, blast.Summary,
            counted.Select(r => r.AttemptId.StartsWith("evt:", StringComparison.Ordinal) ? r.AttemptId[4..] : r.AttemptId).ToList(), blast.End, blast.Limit.Severity);
        await state.Session.AddIncidentAsync(incident);
        state.Incidents.Add(incident);
    }

    private Incident NewIncident(string lender, string rule, string citation, string account, string collector, string summary, IReadOnlyList<string> events, DateTimeOffset at,
        Severity severity = Severity.Critical) =>
        new(lender, $"inc_{Guid.CreateVersion7():N}", rule, citation, severity, account, collector, summary, events, at, clock.GetUtcNow(), null, "", "");

    private async Task<Account> AddFlagAsync(BatchState state, string lender, Account account, FlagType type, Channel channel, string partyId, string note, Item item,
        int source = 0, DateTimeOffset? windowFrom = null, DateTimeOffset? expires = null, string contactPointId = "")
    {
        var flag = new Flag($"flg_{Guid.NewGuid():N}"[..16], type, item.At, expires, channel, partyId, contactPointId, note, $"event:{item.Pending.Event.EventId}", null,
            windowFrom, source);
        await state.Session.AddFlagAsync(lender, account.AccountId, flag, clock.GetUtcNow());
        var changed = account with { Flags = [.. account.Flags, flag] };
        state.Accounts[(lender, account.AccountId)] = changed;
        lock (state.Sync)
        {
            state.ChangedAccounts.Add((lender, account.AccountId));
        }

        return changed;
    }

    /// <summary>
    /// The borrower's accounts as the rules should see them: as loaded with the event, each replaced by its version with
    /// the flags this batch (or one not yet committed) set.
    /// </summary>
    private static IReadOnlyList<Account>? BorrowerAccounts(BatchState state, Item item)
    {
        if (item.BorrowerAccounts is not { } loaded)
        {
            return null;
        }

        var lender = item.Pending.LenderId;
        List<Account>? seen = null;
        for (var i = 0; i < loaded.Count; i++)
        {
            var other = loaded[i];
            var current = state.Accounts.TryGetValue((lender, other.AccountId), out var changed) ? changed : other;
            if (seen is null && !ReferenceEquals(current, other))
            {
                // Copied only where something differs: most events see the accounts as loaded.
                seen = new List<Account>(loaded.Count + 1);
                for (var j = 0; j < i; j++)
                {
                    seen.Add(loaded[j]);
                }
            }

            seen?.Add(current);
        }

        return seen ?? loaded;
    }

    /// <summary>
    /// The validation notice's timing (12 CFR 1006.34(a)(1)), where the policy has a rule for it: the notice's own event
    /// is a violation when it came late; any other event about the debt is one when the notice is still missing after its
    /// deadline, the first such event only (one incident per debt, whichever event revealed it). Each finding raises an
    /// incident; imported events are judged by the rules that count, not alerted on, so they are not checked here.
    /// </summary>
    private async Task CheckValidationNoticeAsync(BatchState state, Item item, Account account, AttemptWindow<AttemptRow> history, PriorAttempts before, List<Violation> violations)
    {
        var atNotice = item.Kind == EventKind.ValidationNoticeSent;
        var prior = before.Of(history, item.At, null);
        var hits = item.Policy.ValidationNoticeTiming(account, prior, item.At, atNotice, BorrowerAccounts(state, item));
        var lender = item.Pending.LenderId;
        foreach (var hit in hits)
        {
            if (!atNotice)
            {
                bool raised;
                lock (state.Sync)
                {
                    raised = state.Incidents.Any(i => i.RuleId == hit.RuleId && i.AccountId == account.AccountId);
                }

                if (raised || await state.Session.IncidentExistsAsync(lender, account.AccountId, hit.RuleId, item.At - NoticeIncidentSpan, item.At + NoticeIncidentSpan))
                {
                    continue;
                }
            }

            violations.Add(new Violation(hit, ""));
            var incident = NewIncident(lender, hit.RuleId, hit.Citation, account.AccountId, item.Collector?.CollectorId ?? "",
                $"Validation notice for account {account.AccountId}: {hit.Message}.", [item.Pending.Event.EventId], item.At, hit.Severity);
            await state.Session.AddIncidentAsync(incident);
            lock (state.Sync)
            {
                state.Incidents.Add(incident);
            }
        }
    }

    /// <summary>How far around an event an earlier missing-notice incident of the same debt is looked for: longer than any debt is collected without one.</summary>
    private static readonly TimeSpan NoticeIncidentSpan = TimeSpan.FromDays(3660);

    /// <summary>
    /// Who called in: the number the consumer called from, as registered; empty, or a number registered nowhere on the
    /// account, the consumer (the lender records a call-in by the consumer).
    /// </summary>
    private Resolved InboundDestination(V1.Event e, Item item, Account account)
    {
        if (e.Destination is null || e.Destination.TargetCase == V1.Destination.TargetOneofCase.None)
        {
            return new Resolved(new ResolvedDestination(DestinationClass.Own, "", null, null, []), "", ContactPointUse.Unspecified);
        }

        var resolved = Resolve(e, item, account);
        return resolved.Destination.Class == DestinationClass.Unknown
            ? resolved with { Destination = resolved.Destination with { Class = DestinationClass.Own } }
            : resolved;
    }

    private Resolved Resolve(V1.Event e, Item item, Account account)
    {
        try
        {
            // The field is named relative to the event, and placed in the request only when refused: this runs for every contact.
            return resolver.Resolve(e.Destination, item.Channel, account, "destination");
        }
        catch (RpcException r) when (r.StatusCode == StatusCode.InvalidArgument)
        {
            var violation = r.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.FirstOrDefault();
            throw new Rejected($"{item.Pending.Field}.{violation?.Field ?? "destination"}", violation?.Description ?? r.Status.Detail);
        }
    }

    // The helpers below stand in for lambdas in the scoring methods: a lambda that captures a local makes those methods
    // allocate its closure for every event, used or not.

    /// <summary>A call of another account that this batch has seen; refused either way (the caller says why).</summary>
    private static AttemptRow CallOfAnotherAccount(BatchState state, Item item)
    {
        foreach (var ((lender, _), history) in state.Histories)
        {
            if (lender == item.Pending.LenderId && history.TryFindCall(item.CallId, null, out var row))
            {
                return row;
            }
        }

        throw new Rejected($"{item.Pending.Field}.call_id", $"no call_placed event or reservation has call id '{item.CallId}'");
    }

    private static Party? PartyOf(Account account, string partyId)
    {
        for (var i = 0; i < account.Parties.Count; i++)
        {
            if (account.Parties[i].PartyId == partyId)
            {
                return account.Parties[i];
            }
        }

        return null;
    }

    private static bool HasDisclosureIncident(List<Incident> incidents, string eventId)
    {
        foreach (var incident in incidents)
        {
            if (incident.RuleId == DisclosureRule && incident.EventIds[0] == eventId)
            {
                return true;
            }
        }

        return false;
    }

    private static Channel ChannelOf(EventKind kind, V1.Event e, PendingEvent pending)
    {
        var channel = (Channel)e.Channel;
        return kind switch
        {
            EventKind.CallPlaced or EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft =>
                channel is Channel.Unspecified or Channel.VoiceCall ? Channel.VoiceCall : throw new Rejected($"{pending.Field}.channel", "call events use CHANNEL_VOICE_CALL"),
            EventKind.Visit => channel is Channel.Unspecified or Channel.Visit ? Channel.Visit : throw new Rejected($"{pending.Field}.channel", "visits use CHANNEL_VISIT"),
            EventKind.InboundCall => channel is Channel.Unspecified or Channel.VoiceCall ? Channel.VoiceCall : throw new Rejected($"{pending.Field}.channel", "inbound calls use CHANNEL_VOICE_CALL"),
            EventKind.MessageSent => channel is Channel.Sms or Channel.Email or Channel.InstantMessage or Channel.Letter
                ? channel
                : throw new Rejected($"{pending.Field}.channel", "message_sent needs CHANNEL_SMS, CHANNEL_EMAIL, CHANNEL_INSTANT_MESSAGE or CHANNEL_LETTER"),
            _ => channel,
        };
    }

    private static AttemptOutcome OutcomeOf(V1.CallOutcome outcome, AttemptOutcome current) => outcome switch
    {
        V1.CallOutcome.Conversation => AttemptOutcome.Conversation,
        V1.CallOutcome.AnsweredNoConversation => AttemptOutcome.AnsweredNoConversation,
        V1.CallOutcome.NoAnswer => AttemptOutcome.NoAnswer,
        V1.CallOutcome.Voicemail => AttemptOutcome.Voicemail,
        V1.CallOutcome.Rejected => AttemptOutcome.Rejected,
        V1.CallOutcome.Busy or V1.CallOutcome.NotInService => AttemptOutcome.NotConnected,
        _ => current,
    };

    private static ContactPurpose PurposeOf(V1.Event e) =>
        e.Purpose == V1.ContactPurpose.Unspecified ? ContactPurpose.CollectDebt : (ContactPurpose)e.Purpose;

    /// <summary>Checks an id; the field's name ("events[3].account_id") is built only when it is refused.</summary>
    private static void CheckId(string value, PendingEvent pending, string suffix)
    {
        if (Validate.IdProblem(value) is { } problem)
        {
            throw new Rejected($"{pending.Field}.{suffix}", problem);
        }
    }

    private static V1.EventAck Reject(PendingEvent pending, string field, string reason) => new()
    {
        EventId = pending.Event.EventId,
        Status = V1.AckStatus.Rejected,
        ErrorField = field,
        ErrorMessage = reason,
    };

    private static V1.EventAck Duplicate(StoredEvent stored)
    {
        var ack = Accepted(stored.EventId, stored.Violations, stored.RiskScore);
        ack.Status = V1.AckStatus.Duplicate;
        return ack;
    }

    private static V1.EventAck Accepted(string eventId, IReadOnlyList<Violation> violations, double risk)
    {
        var ack = new V1.EventAck { EventId = eventId, Status = V1.AckStatus.Accepted, RiskScore = risk };
        foreach (var v in violations)
        {
            ack.Violations.Add(new V1.Violation { Rule = GateMapping.ToProto(v.Rule), Excerpt = v.Excerpt });
        }

        return ack;
    }
}
