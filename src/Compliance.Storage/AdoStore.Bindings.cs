using System.Data.Common;
using System.Runtime.CompilerServices;
using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>Rows bound to the chain (see <see cref="BoundTable"/>): hashed where they are written, read back for verification.</summary>
public abstract partial class AdoStore
{
    /// <summary>The schema version from which rows are bound; its migration binds the rows stored before it.</summary>
    internal const int RowsBoundFromVersion = 14;

    /// <summary>How many rows one <see cref="LedgerKind.RowsBound"/> entry lists.</summary>
    private const int RowsPerBindingEntry = 500;

    /// <summary>The binding of a row as the transaction has just written it (read back inside it).</summary>
    private protected static async Task<RowRef> BindStoredRowAsync(DbConnection connection, DbTransaction tx, BoundTable table, string lenderId, object key,
        CancellationToken ct)
    {
        var keyText = BoundTable.KeyText(key);
        var rows = await QueryAsync(connection, table.SelectOne, r =>
        {
            var values = new (string Column, object? Value)[table.Columns.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (table.Columns[i], r.IsDBNull(i) ? null : r.GetValue(i));
            }

            return values;
        }, ct, tx, ("lender_id", lenderId), ("key", key));
        var row = rows.Count == 1 ? rows[0] : throw new InvalidOperationException($"The {table.Name} row {keyText} just written is not there to bind.");
        return new RowRef(table.Name, keyText, Convert.ToHexStringLower(RowDigest.Hash(table.Name, keyText, row)));
    }

    public async IAsyncEnumerable<StoredRow> StoredRowsAsync(string lenderId, BoundTable table, [EnumeratorCancellation] CancellationToken ct)
    {
        if (table == BoundTable.Decisions)
        {
            await SettleDecisionsAsync(ct);
        }

        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, table.SelectAll, [("lender_id", lenderId)]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return table.Read(reader);
        }
    }

    /// <summary>
    /// Part of migration 14, in its transaction: binds every row stored before rows were bound, in entries of kind
    /// <see cref="LedgerKind.RowsBound"/> (these vouch for the rows from the upgrade on, not for their past).
    /// </summary>
    private async Task BindExistingRowsAsync(DbConnection connection, DbTransaction tx, DateTimeOffset at, CancellationToken ct)
    {
        var ledger = Ledger(connection, tx, ct);
        foreach (var table in BoundTable.All)
        {
            var rows = await QueryAsync(connection, table.SelectEveryLender, r => (Lender: r.GetString(table.Columns.Count + 1), Row: table.Read(r)), ct, tx);
            foreach (var lender in rows.GroupBy(r => r.Lender, StringComparer.Ordinal))
            {
                foreach (var chunk in lender.Select(r => new RowRef(table.Name, r.Row.Key, r.Row.Hash)).Chunk(RowsPerBindingEntry))
                {
                    await ledger.AppendAsync(lender.Key, LedgerKind.RowsBound, $"{table.Name}:{chunk[0].Key}", "", at, new RowsBoundPayload(chunk));
                }
            }
        }

        await ledger.FlushAsync();
    }
}
