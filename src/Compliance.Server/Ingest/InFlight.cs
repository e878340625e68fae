using Compliance.Domain.Registry;
using Compliance.Storage;

namespace Compliance.Server.Ingest;

/// <summary>What one scored batch changes, kept in flight until its group commit ends.</summary>
internal sealed class Contribution
{
    public List<StoredEvent> Events { get; } = [];
    public List<Incident> Incidents { get; } = [];
    public HashSet<(string LenderId, string DecisionId)> Reservations { get; } = [];
    public Dictionary<(string LenderId, string AccountId), Account> Accounts { get; } = [];
}

/// <summary>
/// The changes of batches that are scored but not yet committed, so the next batch is scored as if they were stored:
/// their events (for duplicates), their borrowers (whose history must not be read from the store until they are
/// committed), the accounts whose flags they set, the reservations they confirm and the incidents they raise.
/// Filled by the scorer when a batch is scored; emptied of a batch by the writer once its commit succeeded or failed.
/// </summary>
internal sealed class InFlight
{
    private readonly Lock _sync = new();
    private readonly Dictionary<(string, string), StoredEvent> _events = [];
    private readonly Dictionary<(string, string), int> _borrowers = [];
    private readonly Dictionary<(string, string), Account> _accounts = [];
    private readonly List<Incident> _incidents = [];
    private readonly HashSet<(string, string)> _reservations = [];

    public void Add(Contribution c)
    {
        lock (_sync)
        {
            foreach (var e in c.Events)
            {
                _events[(e.LenderId, e.EventId)] = e;
                _borrowers[(e.LenderId, e.BorrowerId)] = _borrowers.GetValueOrDefault((e.LenderId, e.BorrowerId)) + 1;
            }

            foreach (var (key, account) in c.Accounts)
            {
                _accounts[key] = account;
            }

            _incidents.AddRange(c.Incidents);
            _reservations.UnionWith(c.Reservations);
        }
    }

    public void Remove(Contribution c)
    {
        lock (_sync)
        {
            foreach (var e in c.Events)
            {
                if (_events.TryGetValue((e.LenderId, e.EventId), out var stored) && ReferenceEquals(stored, e))
                {
                    _events.Remove((e.LenderId, e.EventId));
                }

                var borrower = (e.LenderId, e.BorrowerId);
                if (_borrowers.TryGetValue(borrower, out var count))
                {
                    if (count <= 1)
                    {
                        _borrowers.Remove(borrower);
                    }
                    else
                    {
                        _borrowers[borrower] = count - 1;
                    }
                }
            }

            foreach (var (key, account) in c.Accounts)
            {
                // A later batch may have changed the account again; its version stays until that batch is done.
                if (_accounts.TryGetValue(key, out var current) && ReferenceEquals(current, account))
                {
                    _accounts.Remove(key);
                }
            }

            _incidents.RemoveAll(c.Incidents.Contains);
            _reservations.ExceptWith(c.Reservations);
        }
    }

    public bool TryGetEvent(string lenderId, string eventId, out StoredEvent stored)
    {
        lock (_sync)
        {
            return _events.TryGetValue((lenderId, eventId), out stored!);
        }
    }

    public bool HasBorrower(string lenderId, string borrowerId)
    {
        lock (_sync)
        {
            return _borrowers.ContainsKey((lenderId, borrowerId));
        }
    }

    public bool ReservationConfirmed(string lenderId, string decisionId)
    {
        lock (_sync)
        {
            return _reservations.Contains((lenderId, decisionId));
        }
    }

    public bool IncidentExists(string lenderId, string accountId, string ruleId, DateTimeOffset since)
    {
        lock (_sync)
        {
            return _incidents.Exists(i => i.LenderId == lenderId && i.AccountId == accountId && i.RuleId == ruleId && i.OccurredAt >= since);
        }
    }

    /// <summary>The accounts as the batches in flight left them.</summary>
    public Dictionary<(string, string), Account> Accounts()
    {
        lock (_sync)
        {
            return new Dictionary<(string, string), Account>(_accounts);
        }
    }
}
