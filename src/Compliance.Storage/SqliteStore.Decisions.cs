using System.Data.Common;
using Compliance.Domain.Rules;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Compliance.Storage;

/// <summary>
/// Gate decisions on the embedded store: answered once journaled, written into the database by the next write
/// transaction (see <see cref="DecisionJournal"/>). Under full ingest a decision that waited for the database's single
/// writer waited for the group commit ahead of it, tens of milliseconds; journaled, it waits for nothing but its own
/// borrower.
/// </summary>
public sealed partial class SqliteStore
{
    /// <summary>How many answered decisions may wait for the database before the gate is refused (and so fails closed).</summary>
    private const int PendingDecisionsLimit = 10_000;

    /// <summary>
    /// How long the background waits before it writes decisions no other transaction took: the decisions answered
    /// meanwhile ride with the same write. Each write of the database drops every other connection's page cache, so a
    /// write per decision made each decision's reads fetch their pages from the file again.
    /// </summary>
    private static readonly TimeSpan DecisionWriteDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>How long transactions leave refused decisions to the background's retries.</summary>
    private static readonly TimeSpan IsolatedRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Decisions about one borrower are made one at a time: each reads the one before it. Borrowers share these by hash.</summary>
    private readonly SemaphoreSlim[] _borrowerTurns = Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private DecisionJournal? _decisions;
    /// <summary>Borrowers' histories as the gate last read them, with its decisions since: the next decision reads no page.</summary>
    private readonly GateHistories _gateHistories;
    private long _isolatedRetryAt;
    private int _decisionWriting;
    private int _decisionWanted;
    private bool _decisionWriteFailing;
    private volatile bool _decisionsClosing;

    /// <summary>The journal of decisions answered but not yet in the database: beside it, with the same name and <c>.decisions.db</c>.</summary>
    public string DecisionJournalPath => System.IO.Path.ChangeExtension(Path, ".decisions.db");

    /// <summary>
    /// Decides under the borrower's turn, on the borrower's history in the database and in the journal (remembered from
    /// the last decision when nothing else was written since, see <see cref="GateHistories"/>), and journals
    /// the decision before it answers. The database gets it with the next write transaction, which the store starts
    /// at once when no other is coming.
    /// </summary>
    public override async Task<DecisionRecord?> DecideOnStampAsync(string lenderId, string borrowerId, string collectorId, DateTimeOffset since,
        Func<IReadOnlyList<Attempt>, RegistryStamps, GateOutcome?> decide, CancellationToken ct)
    {
        using var activity = StoreTelemetry.Operation("store.decide");
        var journal = _decisions ?? throw new InvalidOperationException("The store takes decisions once it is open (MigrateAsync) and until it is disposed.");
        var turn = _borrowerTurns[(uint)HashCode.Combine(lenderId, borrowerId) % (uint)_borrowerTurns.Length];
        await turn.WaitAsync(ct);
        DecisionRecord decision;
        try
        {
            var remembered = _gateHistories.TryGet(lenderId, borrowerId, collectorId, since);
            if (remembered is null)
            {
                var generation = _gateHistories.Generation;
                var (stamp, history) = await StampAndHistoryAsync(lenderId, borrowerId, collectorId, since, ct);
                remembered = _gateHistories.Remember(lenderId, borrowerId, collectorId, generation, since, stamp, history);
            }

            if (decide(remembered.Attempts, remembered.Stamp) is not (var decided, var reservation))
            {
                return null;
            }

            decision = decided;
            await journal.AppendAsync(borrowerId, decision, reservation);
            // Journaled: a read of the store would now find its reservation (a failed append throws before this).
            if (reservation is { } reserved)
            {
                remembered.Add(reserved);
            }
        }
        finally
        {
            turn.Release();
        }

        StartDecisionWrite();
        return decision;
    }

    private protected override DecisionRecord? PendingDecision(string lenderId, string decisionId) => _decisions?.Decision(lenderId, decisionId);

    private protected override List<DecisionJournal.Entry>? PendingReservations(string lenderId, IReadOnlyCollection<string> borrowerIds) =>
        _decisions?.Reservations(lenderId, borrowerIds);

    protected override async Task SettleDecisionsAsync(CancellationToken ct)
    {
        try
        {
            await WritePendingDecisionsAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The read goes on: the background keeps trying, and the failure is logged once.
            DecisionWriteFailed(e);
        }
    }

    /// <summary>
    /// One write transaction, which writes every decision journaled so far, or fails. It runs on the ingest writer's
    /// connection, between two group commits: a write on another connection would drop that connection's page cache,
    /// and the next group commit would read its indexes back from the file (with the gate's decisions written so,
    /// ingest took about a tenth more processor time per event).
    /// </summary>
    private async Task WritePendingDecisionsAsync(CancellationToken ct)
    {
        if (_decisions is not { Count: > 0 })
        {
            return;
        }

        var (connection, release) = await OpenIngestAsync(ct);
        try
        {
            // Mostly the group commit just before took them.
            if (_decisions is { Count: > 0 })
            {
                await using var tx = await BeginWriteAsync(connection, decisionsOnly: true, ct);
                await tx.CommitAsync(ct);
            }
        }
        finally
        {
            await release();
        }
    }

    private protected override async Task CatchUpDecisionsAsync(DbConnection connection, DbTransaction tx, LedgerAppender? ledger, CancellationToken ct)
    {
        if (tx is TurnTransaction { State: DecisionWrites writes })
        {
            await WriteDecisionsAsync((SqliteConnection)connection, tx, writes, isolate: true, ct, ledger);
        }
    }

    /// <summary>What one write transaction has written of the journal: the entries through <see cref="Through"/>.</summary>
    private sealed class DecisionWrites(DecisionJournal journal)
    {
        public DecisionJournal Journal { get; } = journal;

        public long Through { get; set; }
    }

    /// <summary>
    /// Writes the decisions journaled and not yet written by this transaction, skipping any the database already has.
    /// Isolated (for every transaction but the store's own), a failure is undone to where it began and leaves them
    /// for later, so that the write the transaction is for goes on; the background tries them again and the gate,
    /// if they keep failing, fails closed once too many wait. Otherwise the failure fails the transaction.
    /// </summary>
    /// <param name="held">The transaction's own ledger appender, when it holds chain heads: the decisions' entries go
    /// after what it has appended, so it writes the heads it holds first, and reads them again when it next appends.</param>
    private async Task WriteDecisionsAsync(SqliteConnection connection, DbTransaction tx, DecisionWrites writes, bool isolate, CancellationToken ct,
        LedgerAppender? held = null)
    {
        // After a failure, isolated writes leave them to the background's retries for a while: trying the whole backlog
        // again at every transaction, and at every catch-up within one, would slow every write while the database refuses.
        if (isolate && Environment.TickCount64 < Volatile.Read(ref _isolatedRetryAt))
        {
            return;
        }

        var decisions = writes.Journal.PendingAfter(writes.Through);
        if (decisions.Count == 0)
        {
            return;
        }

        if (held is not null)
        {
            await held.FlushAsync();
        }

        if (isolate)
        {
            await ExecuteAsync(connection, tx, "SAVEPOINT journaled_decisions", ct);
        }

        try
        {
            var ledger = Ledger(connection, tx, ct);
            foreach (var entry in decisions)
            {
                // Written by a store that stopped before its journal forgot it.
                if (!await DecisionStoredAsync(connection, tx, entry.Decision.LenderId, entry.Decision.DecisionId, ct))
                {
                    await WriteDecisionAsync(connection, tx, ledger, entry.BorrowerId, entry.Decision, entry.Reservation, ct);
                }
            }

            await ledger.FlushAsync();
            if (isolate)
            {
                await ExecuteAsync(connection, tx, "RELEASE journaled_decisions", ct);
            }

            writes.Through = decisions[^1].Id;
        }
        catch (Exception e) when (isolate && e is not OperationCanceledException)
        {
            // Some failures (a full disk, an I/O error) end the whole transaction, savepoint and all: the caller's write fails.
            if (raw.sqlite3_get_autocommit(connection.Handle!) != 0)
            {
                throw;
            }

            await ExecuteAsync(connection, tx, "ROLLBACK TO journaled_decisions; RELEASE journaled_decisions", ct);
            Volatile.Write(ref _isolatedRetryAt, Environment.TickCount64 + (long)IsolatedRetryDelay.TotalMilliseconds);
            DecisionWriteFailed(e);
            StartDecisionWrite();
        }
    }

    /// <summary>After a commit, in its turn: the decisions it wrote leave memory, and the background has the journal forget them.</summary>
    private void DecisionsWritten(DecisionWrites? writes)
    {
        if (writes is { Through: > 0 })
        {
            writes.Journal.Written(writes.Through);
            StartDecisionWrite();
        }
    }

    /// <summary>Said once until decisions are written again.</summary>
    private void DecisionWriteFailed(Exception e)
    {
        if (!_decisionWriteFailing)
        {
            _decisionWriteFailing = true;
            _logger.LogError(e, "Gate decisions could not be written into {Path}; they stay in the journal {Journal}, where the gate and the ingest read them, and are tried again.",
                Path, DecisionJournalPath);
        }
    }

    private void StartDecisionWrite()
    {
        Volatile.Write(ref _decisionWanted, 1);
        if (!_decisionsClosing && Interlocked.Exchange(ref _decisionWriting, 1) == 0)
        {
            _ = Task.Run(WriteDecisionsInBackgroundAsync);
        }
    }

    /// <summary>Writes what waits (unless a write transaction took it meanwhile) and has the journal forget what is written.</summary>
    private async Task WriteDecisionsInBackgroundAsync()
    {
        var again = false;
        try
        {
            while (!_decisionsClosing && Interlocked.Exchange(ref _decisionWanted, 0) == 1)
            {
                if (_decisions is { Count: > 0 and < PendingDecisionsLimit / 10 })
                {
                    await Task.Delay(DecisionWriteDelay);
                }

                await WritePendingDecisionsAsync(CancellationToken.None);
                _decisions?.Forget();
                if (_decisionWriteFailing)
                {
                    _decisionWriteFailing = false;
                    Volatile.Write(ref _isolatedRetryAt, 0);
                    _logger.LogInformation("Gate decisions are written into {Path} again.", Path);
                }
            }
        }
        catch (Exception e)
        {
            // They stay journaled and in memory, where the gate and the ingest read them; the gate refuses decisions once
            // too many wait. Tried again shortly, and by every write transaction meanwhile.
            DecisionWriteFailed(e);
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            again = true;
        }
        finally
        {
            Volatile.Write(ref _decisionWriting, 0);
        }

        // Asked again while this round was finishing (it started none), or failed.
        if (again || Volatile.Read(ref _decisionWanted) == 1)
        {
            StartDecisionWrite();
        }
    }

    /// <summary>Opens the journal at start and writes what it still holds (decisions answered before the last stop).</summary>
    private async Task OpenDecisionsAsync(CancellationToken ct)
    {
        if (_decisions is not null)
        {
            return;
        }

        _decisions = new DecisionJournal(DecisionJournalPath, _synchronous, PendingDecisionsLimit);
        if (_decisions.Count > 0)
        {
            _logger.LogInformation("Writing {Count} gate decisions left in the journal {Journal} into {Path}.", _decisions.Count, DecisionJournalPath, Path);
            try
            {
                await WritePendingDecisionsAsync(ct);
                _decisions.Forget();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The service starts all the same: they are read from the journal, and written when they can be.
                DecisionWriteFailed(e);
                StartDecisionWrite();
            }
        }
    }

    /// <summary>At shutdown: writes what waits, so the journal is empty. What cannot be written stays journaled for the next start.</summary>
    private async Task CloseDecisionsAsync()
    {
        if (_decisions is not { } journal)
        {
            return;
        }

        _decisionsClosing = true;
        // A round that started just before is waited for.
        while (Volatile.Read(ref _decisionWriting) == 1)
        {
            await Task.Delay(5);
        }

        try
        {
            await WritePendingDecisionsAsync(CancellationToken.None);
            journal.Forget();
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "{Count} gate decisions could not be written into {Path} at shutdown; they stay in the journal {Journal} and are written at the next start.",
                journal.Count, Path, DecisionJournalPath);
        }

        _decisions = null;
        journal.Dispose();
    }
}
