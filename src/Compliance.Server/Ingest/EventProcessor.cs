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
/// Scores and records a batch of events inside one ingest transaction. The domain judges each event
/// (<see cref="EventJudge.Judge{TRow}"/>, <see cref="EventJudge.Conclude{TRow}"/>: a contact by the gate's own rules at
/// its time, its wording, flags, the validation notice) and the batch's address-book blasts; this class checks and loads
/// (accounts, decisions, reservations, the borrowers' windows), schedules the lanes, applies each verdict (flags,
/// attempts, incidents) and hands the rows to the session.
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

    /// <summary>From this many events a batch is checked and scored in two halves at once.</summary>
    private const int SplitAt = 512;

    private readonly IngestOptions _options = options.Value.Ingest;

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
    /// A checked event (what it reports, as the domain judges it), with the policy in force at its own time, which judges and weighs it, and the borrower's accounts
    /// where that policy reads them (loaded here, before the batch writes anything: they carry flags, which the batch's
    /// own transaction may be writing).
    /// </summary>
    private sealed record Item(PendingEvent Pending, ReportedEvent Event, Account Account, Collector? Collector, CompiledPolicy Policy,
        IReadOnlyList<Account>? BorrowerAccounts = null);

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

            await PrefetchAccountsAsync(group, existing, ct);
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
                catch (EventRejected r)
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
                var from = item.Event.At - item.Policy.LookbackFor(item.Account);
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
            var before = new AttemptWindow<AttemptRow>.View();
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
        var beforeAlone = new AttemptWindow<AttemptRow>.View();
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

    /// <summary>
    /// Reads a lender's accounts of the batch missing from the cache together, and the borrowers' accounts its policy
    /// reads (as of now: the first pass asks again as of each event's time, and reads one by one anything this did not
    /// bring). Events already stored, and ids the first pass will refuse, are left out.
    /// </summary>
    private Task PrefetchAccountsAsync(IGrouping<string, PendingEvent> lender, Dictionary<(string, string), StoredEvent> existing, CancellationToken ct)
    {
        var ids = lender
            .Where(p => !existing.ContainsKey((p.LenderId, p.Event.EventId)) && Validate.IdProblem(p.Event.AccountId) is null)
            .Select(p => p.Event.AccountId);
        return accounts.PrefetchAsync(lender.Key, ids, policies.For(lender.Key, clock.GetUtcNow()).ReadsBorrowerAccounts, ct);
    }

    private async ValueTask<Item> LoadAsync(PendingEvent pending, CancellationToken ct)
    {
        var e = pending.Event;
        var (kind, at, channel) = EventChecks.Head(pending, clock.GetUtcNow(), _options);
        var account = await accounts.AccountAsync(pending.LenderId, e.AccountId, ct) ?? throw new EventRejected($"{pending.Field}.account_id", $"account '{e.AccountId}' not found");
        Collector? collector = null;
        if (kind is not (EventKind.Refusal or EventKind.ConsumerRequest or EventKind.InboundCall or EventKind.ValidationNoticeSent) || e.CollectorId.Length > 0)
        {
            EventChecks.Id(e.CollectorId, pending, "collector_id");
            collector = await accounts.CollectorAsync(pending.LenderId, e.CollectorId, ct) ?? throw new EventRejected($"{pending.Field}.collector_id", $"collector '{e.CollectorId}' not found");
        }

        var callId = EventChecks.Body(pending, at);
        var policy = policies.For(pending.LenderId, at);
        var borrowerAccounts = policy.ReadsBorrowerAccounts(account) ? await accounts.BorrowerAccountsAsync(pending.LenderId, account.BorrowerId, ct) : null;
        return new Item(pending, EventMapping.ToDomain(e, kind, at, channel, callId, pending.Imported), account, collector, policy, borrowerAccounts);
    }

    /// <summary>Scores one event: its acknowledgement, and its row when it is to be stored.</summary>
    private async ValueTask<(V1.EventAck Ack, StoredEvent? Stored)> ScoreOneAsync(BatchState state, Item item, AttemptWindow<AttemptRow>.View before)
    {
        try
        {
            return await ScoreAndStoreAsync(state, item, before);
        }
        catch (EventRejected r)
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
        item.Event.Kind is EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft
        && !state.Histories[(item.Pending.LenderId, item.Account.BorrowerId)].TryFindCall(item.Event.CallId, item.Account.AccountId, out _);

    private async ValueTask<(V1.EventAck Ack, StoredEvent Stored)> ScoreAndStoreAsync(BatchState state, Item item, AttemptWindow<AttemptRow>.View view)
    {
        var lender = item.Pending.LenderId;
        var account = state.Accounts.TryGetValue((lender, item.Account.AccountId), out var changed) ? changed : item.Account;
        var e = item.Event;
        var history = state.Histories[(lender, account.BorrowerId)];
        var (facts, call) = await FactsAsync(state, item, account, history);
        var borrowers = BorrowerAccounts(state, item);
        var verdict = EventJudge.Judge(e, facts, account, item.Collector, item.Policy, history, view, borrowers);

        // Apply it: the flag, the attempt (or the reservation it confirms, or the call's outcome), then finish judging
        // against the account and window as the event left them.
        if (verdict.Flag is { } flag)
        {
            account = await AddFlagAsync(state, lender, account, flag);
            borrowers = BorrowerAccounts(state, item);
        }

        var counts = await ApplyAttemptAsync(state, lender, history, e, verdict, call);
        if (verdict.ThirdPartyContact)
        {
            // One account's events are all in one lane: its list is added to by that lane alone.
            var entry = state.ThirdPartyContacts.GetOrAdd((lender, account.AccountId), static (_, account) => (account, []), account);
            entry.Contacts.Add(e.At);
        }

        EventJudge.Conclude(verdict, content, e, facts, account, item.Collector, item.Policy, history, view, borrowers);
        if (verdict.Incidents.Count > 0)
        {
            await RaiseAsync(state, lender, e, verdict);
        }

        var recorded = verdict.Destination;
        var stored = new StoredEvent(lender, e.EventId, e.Kind, account.AccountId, account.BorrowerId, item.Collector?.CollectorId ?? "",
            e.DecisionId, e.CallId, e.Channel, e.Purpose, recorded?.DestinationHash ?? "", recorded is null ? "" : facts.Masked,
            recorded?.Class ?? DestinationClass.Unspecified, recorded?.Party?.PartyId ?? "", verdict.Outcome, e.DurationMs,
            e.At, item.Pending.ReceivedAt, e.Imported, verdict.RiskScore, verdict.Violations, KeptBody(lender, item), verdict.DestinationUse, counts);
        return (Accepted(e.EventId, verdict.Violations, verdict.RiskScore), stored);
    }

    /// <summary>
    /// What the verdict is judged from, looked up: a contact's destination and the standing of the decision it quotes, the
    /// attempt of the call a call's later event reports on, a wrong number's contact point, a call-in's caller.
    /// </summary>
    private async ValueTask<(EventFacts Facts, AttemptRow? Call)> FactsAsync(BatchState state, Item item, Account account, AttemptWindow<AttemptRow> history)
    {
        var lender = item.Pending.LenderId;
        var e = item.Event;
        var call = history.TryFindCall(e.CallId, account.AccountId, out var found) ? found : (AttemptRow?)null;
        if (EventJudge.IsContact(e.Kind, call is not null))
        {
            var destination = Resolve(item, account);
            return (new EventFacts(await StandingAsync(state, lender, e.DecisionId, account.AccountId), destination.Destination, destination.Masked, destination.Use), null);
        }

        switch (e.Kind)
        {
            case EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft:
                // Not among the account's attempts: a reservation the gate made under this call id, or (to say so) a call of
                // another account this batch has seen.
                call ??= await state.Session.AttemptOfCallAsync(lender, e.CallId) ?? CallOfAnotherAccount(state, item);
                return call.Value.Attempt.AccountId != account.AccountId
                    ? throw new EventRejected($"{item.Pending.Field}.call_id", $"call '{e.CallId}' was placed about another account")
                    : (new EventFacts(Call: call.Value.Attempt, CallAttemptId: call.Value.AttemptId), call);

            case EventKind.Refusal when PartyOf(account, e.PartyId) is null:
                throw new EventRejected($"{item.Pending.Field}.refusal.party_id", Validate.IdProblem(e.PartyId) ?? $"is not a party of account '{account.AccountId}'");

            case EventKind.ConsumerRequest when e.Request == ConsumerRequestType.WrongNumber:
                var point = Resolve(item, account);
                return point.Destination.ContactPoint is null
                    ? throw new EventRejected($"{item.Pending.Field}.destination", $"a wrong number must name a contact point registered on account '{account.AccountId}'")
                    : (new EventFacts(Destination: point.Destination), null);

            case EventKind.InboundCall when item.Pending.Event.Destination is { TargetCase: not V1.Destination.TargetOneofCase.None }:
                var from = Resolve(item, account);
                return (new EventFacts(Destination: from.Destination, Masked: from.Masked, Use: from.Use), null);

            default:
                return (EventFacts.None, null);
        }
    }

    /// <summary>The standing with the gate of the decision an event quotes, as the gate recorded it.</summary>
    private static async ValueTask<GateStanding> StandingAsync(BatchState state, string lender, string decisionId, string accountId)
    {
        if (decisionId.Length == 0)
        {
            return GateStanding.NotAsked;
        }

        var decision = await state.Session.DecisionAsync(lender, decisionId);
        return decision is null || decision.AccountId != accountId ? GateStanding.UnknownDecision
            : decision.Allowed ? GateStanding.Allowed
            : GateStanding.Denied;
    }

    /// <summary>
    /// Writes the verdict's attempt into the store and the borrower's window: a contact as the reservation it confirms
    /// (if the store still holds it pending) or as an attempt of its own, a call's outcome onto the call's attempt. Returns
    /// what the event's row counts as when histories are read.
    /// </summary>
    private static async ValueTask<EventCounting> ApplyAttemptAsync(BatchState state, string lender, AttemptWindow<AttemptRow> history, ReportedEvent e,
        EventVerdict verdict, AttemptRow? call)
    {
        switch (verdict.Change)
        {
            case AttemptChange.Add when verdict.Reservation is { } reservation && await state.Session.ConfirmReservationAsync(lender, reservation, e.CallId, e.At):
                if (verdict.Outcome != AttemptOutcome.Pending)
                {
                    await state.Session.SetOutcomeAsync(lender, reservation, verdict.Outcome);
                }

                history.Upsert(new AttemptRow(reservation, e.CallId, verdict.Attempt));
                return EventCounting.None;

            case AttemptChange.Add:
                history.Add(new AttemptRow(EventJudge.AttemptIdOf(e.EventId), e.CallId, verdict.Attempt));
                return EventCounting.Attempt;

            case AttemptChange.UpdateCall:
                // An event's attempt takes the outcome through this event's row (counted as the call's outcome when
                // histories are read), a gate reservation's in its own row.
                if (!EventJudge.IsEventAttempt(verdict.AttemptId))
                {
                    await state.Session.SetOutcomeAsync(lender, verdict.AttemptId, verdict.Outcome);
                }

                history.Upsert(call!.Value with { Attempt = verdict.Attempt });
                return EventCounting.CallOutcome;

            default:
                return EventCounting.None;
        }
    }

    /// <summary>
    /// Raises the verdict's incidents: a notice missing once per debt (withdrawn where the debt has its incident, in this
    /// batch or stored), a late notice at once, a disclosure once per event, stored after the batch's blasts.
    /// </summary>
    private async Task RaiseAsync(BatchState state, string lender, ReportedEvent e, EventVerdict verdict)
    {
        foreach (var finding in verdict.Incidents.ToArray())
        {
            if (finding.RuleId == DisclosureRule)
            {
                lock (state.Sync)
                {
                    if (!HasDisclosureIncident(state.Incidents, e.EventId))
                    {
                        state.Incidents.Add(NewIncident(lender, finding));
                    }
                }

                continue;
            }

            if (finding.OncePerDebt)
            {
                bool raised;
                lock (state.Sync)
                {
                    raised = HasIncident(state.Incidents, finding.RuleId, finding.AccountId);
                }

                if (raised || await state.Session.IncidentExistsAsync(lender, finding.AccountId, finding.RuleId, e.At - EventJudge.OncePerDebtSpan,
                    e.At + EventJudge.OncePerDebtSpan))
                {
                    verdict.Withdraw(finding);
                    continue;
                }
            }

            var incident = NewIncident(lender, finding);
            await state.Session.AddIncidentAsync(incident);
            lock (state.Sync)
            {
                state.Incidents.Add(incident);
            }
        }
    }

    /// <summary>
    /// The full body the evidence keeps, an e-mail's subject as its first line, or null: the policy in force when the
    /// event arrives decides what is stored, also for events from before it (imports, late ones). Looked up, and the
    /// text put together, only for events that have a body.
    /// </summary>
    private string? KeptBody(string lender, Item item)
    {
        var (text, subject) = (item.Event.Text, item.Event.Subject);
        return (text is null && subject is null) || !policies.For(lender, item.Pending.ReceivedAt).KeepMessageBodies ? null
            : subject is null ? text
            : string.Concat("Subject: ", subject, "\n\n", text);
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
                    var incident = NewIncident(lender, EventJudge.IncidentOf(blast, accountId));
                    await state.Session.AddIncidentAsync(incident);
                    state.Incidents.Add(incident);
                }
            }
        }

        foreach (var incident in state.Incidents.Where(i => i.RuleId == DisclosureRule))
        {
            await state.Session.AddIncidentAsync(incident);
        }
    }

    private Incident NewIncident(string lender, IncidentFinding f) =>
        new(lender, $"inc_{Guid.CreateVersion7():N}", f.RuleId, f.Citation, f.Severity, f.AccountId, f.CollectorId, f.Summary, f.EventIds, f.At, clock.GetUtcNow(),
            null, "", "");

    /// <summary>Stores a flag the verdict sets, under an id of its own; returns the account with it.</summary>
    private async Task<Account> AddFlagAsync(BatchState state, string lender, Account account, Flag flag)
    {
        flag = flag with { FlagId = $"flg_{Guid.NewGuid():N}"[..16] };
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

    private Resolved Resolve(Item item, Account account)
    {
        try
        {
            // The field is named relative to the event, and placed in the request only when refused: this runs for every contact.
            return resolver.Resolve(item.Pending.Event.Destination, item.Event.Channel, account, "destination");
        }
        catch (RpcException r) when (r.StatusCode == StatusCode.InvalidArgument)
        {
            var violation = r.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.FirstOrDefault();
            throw new EventRejected($"{item.Pending.Field}.{violation?.Field ?? "destination"}", violation?.Description ?? r.Status.Detail);
        }
    }

    // The helpers below stand in for lambdas in the scoring methods: a lambda that captures a local makes those methods
    // allocate its closure for every event, used or not.

    /// <summary>A call of another account that this batch has seen; refused either way (the caller says why).</summary>
    private static AttemptRow CallOfAnotherAccount(BatchState state, Item item)
    {
        foreach (var ((lender, _), history) in state.Histories)
        {
            if (lender == item.Pending.LenderId && history.TryFindCall(item.Event.CallId, null, out var row))
            {
                return row;
            }
        }

        throw new EventRejected($"{item.Pending.Field}.call_id", $"no call_placed event or reservation has call id '{item.Event.CallId}'");
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

    private static bool HasIncident(List<Incident> incidents, string ruleId, string accountId)
    {
        foreach (var incident in incidents)
        {
            if (incident.RuleId == ruleId && incident.AccountId == accountId)
            {
                return true;
            }
        }

        return false;
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
