using System.Data.Common;
using Compliance.Domain.Rules;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

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

    /// <summary>Decisions about one borrower are made one at a time: each reads the one before it. Borrowers share these by hash.</summary>
    private readonly SemaphoreSlim[] _borrowerTurns = Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private DecisionJournal? _decisions;
    private Task _decisionWrite = Task.CompletedTask;
    private int _decisionWriting;
    private int _decisionWanted;
    private bool _decisionWriteFailing;
    private volatile bool _decisionsClosing;

    /// <summary>The journal of decisions answered but not yet in the database: beside it, with the same name and <c>.decisions.db</c>.</summary>
    public string DecisionJournalPath => System.IO.Path.ChangeExtension(Path, ".decisions.db");

    /// <summary>
    /// Decides under the borrower's turn, on the borrower's history in the database and in the journal, and journals
    /// the decision before it answers. The database gets it with the next write transaction, which the store starts
    /// at once when no other is coming.
    /// </summary>
    public override async Task<DecisionRecord> DecideAsync(string lenderId, string borrowerId, DateTimeOffset since, Func<IReadOnlyList<Attempt>, GateOutcome> decide,
        CancellationToken ct)
    {
        var journal = _decisions ?? throw new InvalidOperationException("The store takes decisions once it is open (MigrateAsync) and until it is disposed.");
        var turn = _borrowerTurns[(uint)HashCode.Combine(lenderId, borrowerId) % (uint)_borrowerTurns.Length];
        await turn.WaitAsync(ct);
        DecisionRecord decision;
        try
        {
            var history = await HistoryAsync(lenderId, borrowerId, since, ct);
            (decision, var reservation) = decide(history);
            journal.Append(borrowerId, decision, reservation);
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

    /// <summary>One write transaction, which writes every decision journaled so far.</summary>
    protected override async Task SettleDecisionsAsync(CancellationToken ct)
    {
        if (_decisions is not { Count: > 0 })
        {
            return;
        }

        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Writes journaled decisions at the start of a write transaction, skipping any the database already has.</summary>
    private async Task WriteDecisionsAsync(SqliteConnection connection, DbTransaction tx, IReadOnlyList<DecisionJournal.Entry> decisions, CancellationToken ct)
    {
        var ledger = Ledger(connection, tx, ct);
        foreach (var entry in decisions)
        {
            // Written by a store that stopped before its journal forgot it.
            if (await DecisionStoredAsync(connection, tx, entry.Decision.LenderId, entry.Decision.DecisionId, ct))
            {
                continue;
            }

            await WriteDecisionAsync(connection, tx, ledger, entry.BorrowerId, entry.Decision, entry.Reservation, ct);
        }

        await ledger.FlushAsync();
    }

    /// <summary>After a commit, in its turn: the decisions it wrote leave memory, and the background has the journal forget them.</summary>
    private void DecisionsWritten(DecisionJournal? journal, IReadOnlyList<DecisionJournal.Entry> decisions)
    {
        if (journal is not null && decisions.Count > 0)
        {
            journal.Written(decisions[^1].Id);
            StartDecisionWrite();
        }
    }

    private void StartDecisionWrite()
    {
        Volatile.Write(ref _decisionWanted, 1);
        if (!_decisionsClosing && Interlocked.Exchange(ref _decisionWriting, 1) == 0)
        {
            _decisionWrite = Task.Run(WriteDecisionsInBackgroundAsync);
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
                await SettleDecisionsAsync(CancellationToken.None);
                _decisions?.Forget();
                if (_decisionWriteFailing)
                {
                    _decisionWriteFailing = false;
                    _logger.LogInformation("Gate decisions are written into {Path} again.", Path);
                }
            }
        }
        catch (Exception e)
        {
            // They stay journaled and in memory, where the gate and the ingest read them; the gate refuses decisions once
            // too many wait. Tried again shortly, and by every write transaction meanwhile.
            if (!_decisionWriteFailing)
            {
                _decisionWriteFailing = true;
                _logger.LogError(e, "Gate decisions could not be written into {Path}; they stay in the journal {Journal} and are tried again.", Path, DecisionJournalPath);
            }

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
            await SettleDecisionsAsync(ct);
            _decisions.Forget();
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
        await _decisionWrite;
        try
        {
            await SettleDecisionsAsync(CancellationToken.None);
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
