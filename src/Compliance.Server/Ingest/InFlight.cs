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

    /// <summary>The log position of the batch's last event, once its events are sealed.</summary>
    public long? LastSeq { get; set; }

    /// <summary>The events by lender and id and the borrowers they concern: built once, as the batch goes in flight.</summary>
    public Dictionary<(string, string), StoredEvent> ByEvent { get; } = [];
    public HashSet<(string, string)> Borrowers { get; } = [];

    public void Index()
    {
        ByEvent.EnsureCapacity(Events.Count);
        foreach (var e in Events)
        {
            ByEvent[(e.LenderId, e.EventId)] = e;
            Borrowers.Add((e.LenderId, e.BorrowerId));
        }
    }
}

/// <summary>
/// The changes of batches that are scored but not yet committed, so the next batch is scored as if they were stored:
/// their events (for duplicates), their borrowers (whose history must not be read from the store until they are
/// committed), the accounts whose flags they set, the reservations they confirm, the incidents they raise and where
/// the log will continue. Filled by the scorer when a batch is scored (which also indexes it); the writer takes a
/// batch out once its commit succeeded or failed, which costs it nothing but the removal from a short list.
/// </summary>
internal sealed class InFlight
{
    private readonly Lock _sync = new();
    private readonly List<Contribution> _batches = [];

    public void Add(Contribution c)
    {
        c.Index();
        lock (_sync)
        {
            _batches.Add(c);
        }
    }

    public void Remove(Contribution c)
    {
        lock (_sync)
        {
            _batches.Remove(c);
        }
    }

    /// <summary>A commit failed: every batch in flight was scored on its changes, and none of them will be stored.</summary>
    public void Clear()
    {
        lock (_sync)
        {
            _batches.Clear();
        }
    }

    /// <summary>
    /// The events among <paramref name="eventIds"/> that batches in flight hold (a later batch's over an earlier one's),
    /// by id; the others go to <paramref name="rest"/>. One look under the lock for the whole list.
    /// </summary>
    public Dictionary<string, StoredEvent> FindEvents(string lenderId, IEnumerable<string> eventIds, List<string> rest)
    {
        var found = new Dictionary<string, StoredEvent>(StringComparer.Ordinal);
        lock (_sync)
        {
            foreach (var id in eventIds)
            {
                StoredEvent? hit = null;
                for (var i = _batches.Count - 1; i >= 0 && !_batches[i].ByEvent.TryGetValue((lenderId, id), out hit); i--)
                {
                }

                if (hit is not null)
                {
                    found[id] = hit;
                }
                else
                {
                    rest.Add(id);
                }
            }
        }

        return found;
    }

    /// <summary>Whether any of the borrowers has events in flight.</summary>
    public bool HasAnyBorrower(string lenderId, IEnumerable<string> borrowerIds)
    {
        lock (_sync)
        {
            if (_batches.Count == 0)
            {
                return false;
            }

            foreach (var borrowerId in borrowerIds)
            {
                foreach (var batch in _batches)
                {
                    if (batch.Borrowers.Contains((lenderId, borrowerId)))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    public bool ReservationConfirmed(string lenderId, string decisionId)
    {
        lock (_sync)
        {
            return _batches.Exists(b => b.Reservations.Contains((lenderId, decisionId)));
        }
    }

    public bool IncidentExists(string lenderId, string accountId, string ruleId, DateTimeOffset after, DateTimeOffset before)
    {
        lock (_sync)
        {
            return _batches.Exists(b => b.Incidents.Exists(i => i.Is(lenderId, accountId, ruleId, after, before)));
        }
    }

    /// <summary>Where the log continues after the batches in flight; null when none has sealed events.</summary>
    public long? NextSeq()
    {
        lock (_sync)
        {
            long? last = null;
            foreach (var b in _batches)
            {
                if (b.LastSeq is { } seq && (last is null || seq > last))
                {
                    last = seq;
                }
            }

            return last + 1;
        }
    }

    /// <summary>The accounts as the batches in flight left them (a later batch's version over an earlier one's).</summary>
    public Dictionary<(string, string), Account> Accounts()
    {
        lock (_sync)
        {
            var accounts = new Dictionary<(string, string), Account>();
            foreach (var b in _batches)
            {
                foreach (var (key, account) in b.Accounts)
                {
                    accounts[key] = account;
                }
            }

            return accounts;
        }
    }
}
