using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Storage;

namespace Compliance.Server.Ingest;

/// <summary>
/// An ingest session shared by the lanes that score a batch at once: one call at a time, as a session's connection and
/// its planned writes serve one caller. Scoring calls it only for gate decisions, reservations and flags, so the lanes
/// rarely meet here.
/// </summary>
internal sealed class SerializedSession(IIngestSession inner) : IIngestSession
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    public Task<IReadOnlyDictionary<string, StoredEvent>> ExistingEventsAsync(string lenderId, IReadOnlyCollection<string> eventIds) =>
        InTurnAsync(() => inner.ExistingEventsAsync(lenderId, eventIds));

    public Task<Dictionary<string, List<AttemptRow>>> HistoriesAsync(string lenderId, IReadOnlyCollection<string> borrowerIds, DateTimeOffset since) =>
        InTurnAsync(() => inner.HistoriesAsync(lenderId, borrowerIds, since));

    public Task<AttemptRow?> AttemptOfCallAsync(string lenderId, string callId) => InTurnAsync(() => inner.AttemptOfCallAsync(lenderId, callId));

    public Task<DecisionRecord?> DecisionAsync(string lenderId, string decisionId) => InTurnAsync(() => inner.DecisionAsync(lenderId, decisionId));

    public Task AddEventAsync(StoredEvent e) => InTurnAsync(() => inner.AddEventAsync(e));

    public Task AddEventsAsync(IReadOnlyList<StoredEvent> events) => InTurnAsync(() => inner.AddEventsAsync(events));

    public Task AddEventsAsync(SealedEvents sealedEvents) => InTurnAsync(() => inner.AddEventsAsync(sealedEvents));

    public Task<long> NextSeqAsync() => InTurnAsync(inner.NextSeqAsync);

    public Task AddAttemptAsync(string lenderId, string attemptId, string borrowerId, string callId, Attempt attempt) =>
        InTurnAsync(() => inner.AddAttemptAsync(lenderId, attemptId, borrowerId, callId, attempt));

    public Task<bool> ReservationPendingAsync(string lenderId, string decisionId) => InTurnAsync(() => inner.ReservationPendingAsync(lenderId, decisionId));

    public Task<bool> ConfirmReservationAsync(string lenderId, string decisionId, string callId, DateTimeOffset at) =>
        InTurnAsync(() => inner.ConfirmReservationAsync(lenderId, decisionId, callId, at));

    public Task SetOutcomeAsync(string lenderId, string attemptId, AttemptOutcome outcome) => InTurnAsync(() => inner.SetOutcomeAsync(lenderId, attemptId, outcome));

    public Task<bool> IncidentExistsAsync(string lenderId, string accountId, string ruleId, DateTimeOffset after, DateTimeOffset before) =>
        InTurnAsync(() => inner.IncidentExistsAsync(lenderId, accountId, ruleId, after, before));

    public Task AddIncidentAsync(Incident incident) => InTurnAsync(() => inner.AddIncidentAsync(incident));

    public Task AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now) => InTurnAsync(() => inner.AddFlagAsync(lenderId, accountId, flag, now));

    private async Task InTurnAsync(Func<Task> call)
    {
        await _turn.WaitAsync();
        try
        {
            await call();
        }
        finally
        {
            _turn.Release();
        }
    }

    private async Task<T> InTurnAsync<T>(Func<Task<T>> call)
    {
        await _turn.WaitAsync();
        try
        {
            return await call();
        }
        finally
        {
            _turn.Release();
        }
    }
}
