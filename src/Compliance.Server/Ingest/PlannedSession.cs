using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Storage;

namespace Compliance.Server.Ingest;

/// <summary>
/// The ingest session the scorer sees while the previous batch is still being written: reads go to the committed
/// store with what is in flight laid over them, and writes are planned, to be replayed in order in the batch's own
/// group commit by the writer.
/// </summary>
internal sealed class PlannedSession(IIngestSession reads, InFlight inFlight, Func<Task> drain) : IIngestSession
{
    private readonly List<Func<IIngestSession, Task>> _plan = [];
    private long? _nextSeq;

    public IReadOnlyList<Func<IIngestSession, Task>> Plan => _plan;

    public Contribution Contribution { get; } = new();

    public async Task<IReadOnlyDictionary<string, StoredEvent>> ExistingEventsAsync(string lenderId, IReadOnlyCollection<string> eventIds)
    {
        var rest = new List<string>(eventIds.Count);
        var found = inFlight.FindEvents(lenderId, eventIds, rest);
        if (rest.Count > 0)
        {
            foreach (var (id, stored) in await reads.ExistingEventsAsync(lenderId, rest))
            {
                found[id] = stored;
            }
        }

        return found;
    }

    public async Task<Dictionary<string, List<AttemptRow>>> HistoriesAsync(string lenderId, IReadOnlyCollection<string> borrowerIds, DateTimeOffset since)
    {
        // A borrower with events in flight has rows the store does not show yet: wait until they are committed.
        if (inFlight.HasAnyBorrower(lenderId, borrowerIds))
        {
            await drain();
        }

        return await reads.HistoriesAsync(lenderId, borrowerIds, since);
    }

    public Task<AttemptRow?> AttemptOfCallAsync(string lenderId, string callId) => reads.AttemptOfCallAsync(lenderId, callId);

    public Task<DecisionRecord?> DecisionAsync(string lenderId, string decisionId) => reads.DecisionAsync(lenderId, decisionId);

    public Task AddEventAsync(StoredEvent e) => AddEventsAsync([e]);

    /// <summary>Seals the events here, for the position after what is in flight; the writer only appends them.</summary>
    public async Task AddEventsAsync(IReadOnlyList<StoredEvent> events)
    {
        var sealedEvents = SealedEvents.Seal(events, await NextSeqAsync());
        _nextSeq += events.Count;
        Contribution.Events.AddRange(events);
        Contribution.LastSeq = sealedEvents.LastSeq;
        _plan.Add(s => s.AddEventsAsync(sealedEvents));
    }

    public Task AddEventsAsync(SealedEvents sealedEvents) => throw new NotSupportedException("The planned session seals the events it is given.");

    public async Task<long> NextSeqAsync() => _nextSeq ??= inFlight.NextSeq() ?? await reads.NextSeqAsync();

    public Task AddAttemptAsync(string lenderId, string attemptId, string borrowerId, string callId, Attempt attempt)
    {
        _plan.Add(s => s.AddAttemptAsync(lenderId, attemptId, borrowerId, callId, attempt));
        return Task.CompletedTask;
    }

    public async Task<bool> ReservationPendingAsync(string lenderId, string decisionId) =>
        !Contribution.Reservations.Contains((lenderId, decisionId)) && !inFlight.ReservationConfirmed(lenderId, decisionId)
        && await reads.ReservationPendingAsync(lenderId, decisionId);

    public async Task<bool> ConfirmReservationAsync(string lenderId, string decisionId, string callId, DateTimeOffset at)
    {
        if (!await ReservationPendingAsync(lenderId, decisionId))
        {
            return false;
        }

        Contribution.Reservations.Add((lenderId, decisionId));
        _plan.Add(async s =>
        {
            // Released in the moment between scoring and writing: the batch was scored on a reservation it no longer
            // has, so it fails as a whole and its senders resend it.
            if (!await s.ConfirmReservationAsync(lenderId, decisionId, callId, at))
            {
                throw new InvalidOperationException($"The reservation of decision {decisionId} was released while its event waited to be stored.");
            }
        });
        return true;
    }

    public Task SetOutcomeAsync(string lenderId, string attemptId, AttemptOutcome outcome)
    {
        _plan.Add(s => s.SetOutcomeAsync(lenderId, attemptId, outcome));
        return Task.CompletedTask;
    }

    public async Task<bool> IncidentExistsAsync(string lenderId, string accountId, string ruleId, DateTimeOffset after, DateTimeOffset before) =>
        Contribution.Incidents.Exists(i => i.Is(lenderId, accountId, ruleId, after, before))
        || inFlight.IncidentExists(lenderId, accountId, ruleId, after, before)
        || await reads.IncidentExistsAsync(lenderId, accountId, ruleId, after, before);

    public Task AddIncidentAsync(Incident incident)
    {
        Contribution.Incidents.Add(incident);
        _plan.Add(s => s.AddIncidentAsync(incident));
        return Task.CompletedTask;
    }

    public Task AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now)
    {
        _plan.Add(s => s.AddFlagAsync(lenderId, accountId, flag, now));
        return Task.CompletedTask;
    }
}
