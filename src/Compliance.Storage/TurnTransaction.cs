using System.Data;
using System.Data.Common;

namespace Compliance.Storage;

/// <summary>
/// A write transaction that holds its store's write turn until it ends (committed, rolled back or disposed), so the
/// process's writers take turns in order instead of meeting SQLite's busy lock (see <see cref="SqliteStore"/>).
/// Commands run on <see cref="Inner"/>. <paramref name="committed"/> runs after a commit, still in the turn;
/// <paramref name="ended"/> when the transaction ends however it ends, just before the turn is given back.
/// </summary>
internal sealed class TurnTransaction(DbTransaction inner, SemaphoreSlim turn, Action committed, Action? ended = null) : DbTransaction
{
    private int _released;

    public DbTransaction Inner { get; } = inner;

    /// <summary>What the store keeps with this transaction, if anything.</summary>
    public object? State { get; init; }

    public override IsolationLevel IsolationLevel => Inner.IsolationLevel;

    protected override DbConnection? DbConnection => Inner.Connection;

    /// <summary>The transaction commands run on: the inner one of a turn, or the one given.</summary>
    public static DbTransaction? Of(DbTransaction? tx) => tx is TurnTransaction turn ? turn.Inner : tx;

    public override void Commit()
    {
        Inner.Commit();
        Committed();
    }

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await Inner.CommitAsync(cancellationToken);
        Committed();
    }

    // A rollback that throws (the file failing) still gives the turn back: otherwise every later writer would wait forever.
    public override void Rollback()
    {
        try
        {
            Inner.Rollback();
        }
        finally
        {
            Release();
        }
    }

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await Inner.RollbackAsync(cancellationToken);
        }
        finally
        {
            Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                Inner.Dispose();
            }
            finally
            {
                Release();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await Inner.DisposeAsync();
        }
        finally
        {
            Release();
        }

        await base.DisposeAsync();
    }

    private void Committed()
    {
        try
        {
            committed();
        }
        finally
        {
            Release();
        }
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            try
            {
                ended?.Invoke();
            }
            finally
            {
                turn.Release();
            }
        }
    }
}
