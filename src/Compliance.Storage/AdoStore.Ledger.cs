using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>The ledger: appended in the same transaction as the fact it records, so the two cannot disagree.</summary>
public abstract partial class AdoStore
{
    /// <summary>
    /// Appends entries inside one transaction. Each lender's chain head is read once (under the lender's lock where
    /// the provider needs one) and written back once at <see cref="FlushAsync"/>, so a group commit of many events
    /// costs one head read and one head write per lender.
    /// </summary>
    private protected sealed class LedgerAppender(DbConnection connection, DbTransaction tx, string? lockSql, CancellationToken ct)
    {
        private readonly Dictionary<string, (LedgerHead Head, bool Existed)> _heads = new(StringComparer.Ordinal);
        private DbCommand? _insert;

        /// <param name="row">The stored row the entry vouches for (see <see cref="BoundTable"/>), recorded in the payload as "row".</param>
        public async Task<LedgerEntry> AppendAsync(string lenderId, LedgerKind kind, string refId, string accountId, DateTimeOffset at, object payload, RowRef? row = null)
        {
            if (!_heads.TryGetValue(lenderId, out var state))
            {
                if (lockSql is not null)
                {
                    await ExecuteAsync(connection, tx, lockSql, ct, ("resource", LockName($"ledger:{lenderId}")));
                }

                var head = (await QueryAsync(connection, LedgerSql.SelectHead, ReadHead, ct, tx,
                    ("lender_id", lenderId))).FirstOrDefault();
                state = (head ?? LedgerChain.Start(lenderId), head is not null);
            }

            var entry = LedgerChain.Next(state.Head, lenderId, kind, refId, accountId, at, Payload(payload, row));
            _insert ??= Prepare(connection, tx, LedgerSql.InsertEntry, "lender_id", "seq", "kind", "ref_id", "account_id", "recorded_at", "payload", "prev_hash", "hash");
            Bind(_insert, lenderId, entry.Seq, (int)kind, refId, accountId, ToMs(entry.RecordedAt), entry.Payload,
                Convert.ToHexStringLower(entry.PrevHash), Convert.ToHexStringLower(entry.Hash));
            await _insert.ExecuteNonQueryAsync(ct);
            _heads[lenderId] = (new LedgerHead(entry.Seq, entry.Hash), state.Existed);
            return entry;
        }

        public async Task FlushAsync()
        {
            // Every head held here has moved: a lender's head is read only to append to it.
            foreach (var (lenderId, (head, existed)) in _heads)
            {
                await ExecuteAsync(connection, tx, existed ? LedgerSql.UpdateHead : LedgerSql.InsertHead, ct,
                    ("lender_id", lenderId), ("seq", head.Seq), ("hash", Convert.ToHexStringLower(head.Hash)));
            }

            _heads.Clear();
            if (_insert is not null)
            {
                await _insert.DisposeAsync();
                _insert = null;
            }
        }
    }

    /// <summary>The payload's canonical JSON; with a bound row, its <see cref="RowRef"/> first as "row".</summary>
    private static string Payload(object payload, RowRef? row)
    {
        var json = JsonSerializer.Serialize(payload, payload.GetType(), JsonOptions);
        return row is null ? json : "{\"row\":" + JsonSerializer.Serialize(row, JsonOptions) + (json.Length > 2 ? "," + json[1..] : "}");
    }

    private static LedgerHead ReadHead(DbDataReader r) => new(r.GetInt64(0), Convert.FromHexString(r.GetString(1)));

    private protected LedgerAppender Ledger(DbConnection connection, DbTransaction tx, CancellationToken ct) => new(connection, tx, LockResourceSql, ct);

    /// <summary>Appends one entry within the caller's transaction, for a write that records one fact.</summary>
    private async Task<LedgerEntry> AppendOneAsync(DbConnection connection, DbTransaction tx, string lenderId, LedgerKind kind, string refId, string accountId,
        DateTimeOffset at, object payload, CancellationToken ct, RowRef? row = null)
    {
        var ledger = Ledger(connection, tx, ct);
        var entry = await ledger.AppendAsync(lenderId, kind, refId, accountId, at, payload, row);
        await ledger.FlushAsync();
        return entry;
    }

    public async Task<LedgerEntry> AppendAsync(string lenderId, LedgerKind kind, string refId, string accountId, DateTimeOffset at, object payload, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var entry = await AppendOneAsync(connection, tx, lenderId, kind, refId, accountId, at, payload, ct);
        await tx.CommitAsync(ct);
        return entry;
    }

    public async Task<LedgerHead?> HeadAsync(string lenderId, CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, LedgerSql.SelectHead, ReadHead, ct,
            ("lender_id", lenderId))).FirstOrDefault();
    }

    public async Task<IReadOnlyList<string>> LedgerLendersAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, LedgerSql.SelectLenders, r => r.GetString(0), ct);
    }

    public async Task<IReadOnlyList<Checkpoint>> CheckpointsAsync(string lenderId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, LedgerSql.SelectCheckpoints, r => new Checkpoint(r.GetString(0), r.GetInt64(1), Convert.FromHexString(r.GetString(3)),
            FromMs(r.GetInt64(4)), r.GetBoolean(2), Convert.FromBase64String(r.GetString(5))), ct, ("lender_id", lenderId));
    }

    public async Task AddCheckpointAsync(Checkpoint c, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        try
        {
            await using var tx = await BeginWriteAsync(connection, ct);
            await InsertCheckpointAsync(connection, tx, c, ct);
            await tx.CommitAsync(ct);
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            // Another replica signed the same head first; one checkpoint per position is enough.
        }
    }

    private static Task<int> InsertCheckpointAsync(DbConnection connection, DbTransaction? tx, Checkpoint c, CancellationToken ct) =>
        ExecuteAsync(connection, tx, LedgerSql.InsertCheckpoint, ct, ("lender_id", c.LenderId), ("seq", c.Seq), ("anchor", c.Anchor),
            ("hash", Convert.ToHexStringLower(c.Hash)), ("signed_at", ToMs(c.SignedAt)), ("signature", Convert.ToBase64String(c.Signature)));

    public async IAsyncEnumerable<LedgerEntry> EntriesAsync(string lenderId, long fromSeq, long toSeq, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, LedgerSql.SelectEntries, [("lender_id", lenderId), ("from", fromSeq), ("to", toSeq)]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return ReadEntry(reader);
        }
    }

    public async Task<(long First, long Last)?> SeqRangeAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await using var connection = await OpenAsync(ct);
        var rows = await QueryAsync(connection, LedgerSql.SeqRange, r => r.IsDBNull(0) ? ((long, long)?)null : (r.GetInt64(0), r.GetInt64(1)), ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)));
        return rows.FirstOrDefault();
    }

    public async Task<long> LastSeqOfPrefixBeforeAsync(string lenderId, DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var firstYoung = await ScalarAsync(connection, null, LedgerSql.FirstSeqFrom, ct, ("lender_id", lenderId), ("cutoff", ToMs(cutoff)));
        var max = Convert.ToInt64(await ScalarAsync(connection, null, LedgerSql.MaxSeq, ct, ("lender_id", lenderId)));
        return firstYoung is null or DBNull ? max : Convert.ToInt64(firstYoung) - 1;
    }

    public async Task<long> MaxSeqAsync(string lenderId, CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await using var connection = await OpenAsync(ct);
        return Convert.ToInt64(await ScalarAsync(connection, null, LedgerSql.MaxSeq, ct, ("lender_id", lenderId)));
    }

    public async Task<IReadOnlyList<LedgerEntry>> EntriesOfAccountAsync(string lenderId, string accountId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, LedgerSql.EntriesOfAccount, ReadEntry, ct,
            ("lender_id", lenderId), ("account_id", accountId), ("from", ToMs(from)), ("to", ToMs(to)));
    }

    public async Task<int> PurgeAsync(string lenderId, long lastSeq, Checkpoint anchor, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        await InsertCheckpointAsync(connection, tx, anchor, ct);
        var removed = await ExecuteAsync(connection, tx, LedgerSql.PurgeEntries, ct, ("lender_id", lenderId), ("last", lastSeq));
        await ExecuteAsync(connection, tx, LedgerSql.PurgeCheckpoints, ct, ("lender_id", lenderId), ("last", lastSeq));
        await tx.CommitAsync(ct);
        return removed;
    }

    public async Task<Complaint> AddComplaintAsync(Complaint c, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        (string Name, object? Value)[] values =
        [
            ("lender_id", c.LenderId), ("complaint_id", c.ComplaintId), ("source", (int)c.Source),
            ("reference", c.Reference), ("account_id", c.AccountId), ("received_at", ToMs(c.ReceivedAt)), ("text", c.Text), ("status", (int)c.Status),
            ("due_at", ToMsOrNull(c.DueAt)), ("created_at", ToMs(c.CreatedAt)), ("updated_at", ToMs(c.UpdatedAt)),
        ];
        await ExecuteAsync(connection, tx, LedgerSql.InsertComplaint, ct, values);
        await AppendOneAsync(connection, tx, c.LenderId, LedgerKind.Complaint, c.ComplaintId, c.AccountId, c.CreatedAt, c, ct,
            BoundTable.Complaints.Bind(c.ComplaintId, values));
        await tx.CommitAsync(ct);
        return c;
    }

    public async Task<Complaint?> GetComplaintAsync(string lenderId, string complaintId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, LedgerSql.SelectComplaint, ReadComplaint, ct, ("lender_id", lenderId), ("complaint_id", complaintId))).FirstOrDefault();
    }

    public async Task<Page<Complaint>> ListComplaintsAsync(string lenderId, ComplaintStatus status, int limit, string? after, CancellationToken ct)
    {
        return await PageAsync(LedgerSql.ListComplaints, ReadComplaint, c => c.ComplaintId, limit, after, ct, ("lender_id", lenderId), ("status", (int)status));
    }

    public async Task<Complaint?> UpdateComplaintStatusAsync(string lenderId, string complaintId, ComplaintStatus status, string note, DateTimeOffset at, string by, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        if (await ExecuteAsync(connection, tx, LedgerSql.UpdateComplaintStatus, ct,
                ("lender_id", lenderId), ("complaint_id", complaintId), ("status", (int)status), ("updated_at", ToMs(at))) == 0)
        {
            return null;
        }

        var complaint = (await QueryAsync(connection, LedgerSql.SelectComplaint, ReadComplaint, ct, tx, ("lender_id", lenderId), ("complaint_id", complaintId))).Single();
        await AppendOneAsync(connection, tx, lenderId, LedgerKind.ComplaintStatus, complaintId, complaint.AccountId, at, new { complaintId, status = status.ToString(), note, by }, ct,
            await BindStoredRowAsync(connection, tx, BoundTable.Complaints, lenderId, complaintId, ct));
        await tx.CommitAsync(ct);
        return complaint;
    }

    private static LedgerEntry ReadEntry(DbDataReader r) => new(r.GetString(0), r.GetInt64(1), (LedgerKind)r.GetInt32(2), r.GetString(3), r.GetString(4),
        FromMs(r.GetInt64(5)), r.GetString(6), Convert.FromHexString(r.GetString(7)), Convert.FromHexString(r.GetString(8)));

    private static Complaint ReadComplaint(DbDataReader r) => new(r.GetString(0), r.GetString(1), (ComplaintSource)r.GetInt32(2), r.GetString(3), r.GetString(4),
        FromMs(r.GetInt64(5)), r.GetString(6), (ComplaintStatus)r.GetInt32(7), FromMsOrNull(r, 8), FromMs(r.GetInt64(9)), FromMs(r.GetInt64(10)));

    private static DbCommand Prepare(DbConnection connection, DbTransaction? tx, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = TurnTransaction.Of(tx);
        foreach (var name in names)
        {
            var p = command.CreateParameter();
            p.ParameterName = "@" + name;
            command.Parameters.Add(p);
        }

        return command;
    }

    private static void Bind(DbCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }
}

/// <summary>Statements of the ledger tables, shared by every provider.</summary>
internal static class LedgerSql
{
    public const string SelectHead = "SELECT seq, hash FROM ledger_heads WHERE lender_id = @lender_id";
    public const string InsertHead = "INSERT INTO ledger_heads (lender_id, seq, hash) VALUES (@lender_id, @seq, @hash)";
    public const string UpdateHead = "UPDATE ledger_heads SET seq = @seq, hash = @hash WHERE lender_id = @lender_id";
    public const string SelectLenders = "SELECT lender_id FROM ledger_heads ORDER BY lender_id";
    public const string InsertEntry = """
        INSERT INTO ledger (lender_id, seq, kind, ref_id, account_id, recorded_at, payload, prev_hash, hash)
        VALUES (@lender_id, @seq, @kind, @ref_id, @account_id, @recorded_at, @payload, @prev_hash, @hash)
        """;
    private const string EntryColumns = "lender_id, seq, kind, ref_id, account_id, recorded_at, payload, prev_hash, hash";
    public const string SelectEntries = $"SELECT {EntryColumns} FROM ledger WHERE lender_id = @lender_id AND seq >= @from AND seq <= @to ORDER BY seq";
    public const string EntriesOfAccount = $"""
        SELECT {EntryColumns} FROM ledger WHERE lender_id = @lender_id AND account_id = @account_id AND recorded_at >= @from AND recorded_at < @to ORDER BY seq
        """;
    public const string SeqRange = "SELECT MIN(seq), MAX(seq) FROM ledger WHERE lender_id = @lender_id AND recorded_at >= @from AND recorded_at < @to";
    public const string MaxSeq = "SELECT COALESCE(MAX(seq), 0) FROM ledger WHERE lender_id = @lender_id";
    // The first entry that must stay: recorded at or after the cutoff, about an account with any activity since the
    // cutoff (records are kept until the retention period has passed after the last activity on the debt), or an event
    // batch holding an event of such an account (its positions are matched alone, so that SQLite walks the position
    // range; an account of the same name of another lender there only keeps a batch longer).
    public const string FirstSeqFrom = """
        SELECT MIN(seq) FROM ledger
        WHERE lender_id = @lender_id
          AND (recorded_at >= @cutoff
               OR (account_id <> '' AND (account_id IN (SELECT account_id FROM ledger WHERE lender_id = @lender_id AND recorded_at >= @cutoff)
                                         OR account_id IN (SELECT account_id FROM event_log WHERE lender_id = @lender_id AND occurred_at >= @cutoff)))
               OR (kind = 10 AND EXISTS (
                    SELECT 1 FROM event_batches b JOIN event_log e ON e.seq >= b.first_seq AND e.seq <= b.last_seq
                    WHERE b.lender_id = @lender_id AND b.ledger_seq = ledger.seq
                      AND (e.account_id IN (SELECT account_id FROM ledger WHERE lender_id = @lender_id AND recorded_at >= @cutoff)
                           OR e.account_id IN (SELECT account_id FROM event_log WHERE lender_id = @lender_id AND occurred_at >= @cutoff)))))
        """;
    public const string PurgeEntries = "DELETE FROM ledger WHERE lender_id = @lender_id AND seq <= @last";
    public const string PurgeCheckpoints = "DELETE FROM checkpoints WHERE lender_id = @lender_id AND seq < @last";

    public const string InsertCheckpoint = """
        INSERT INTO checkpoints (lender_id, seq, anchor, hash, signed_at, signature) VALUES (@lender_id, @seq, @anchor, @hash, @signed_at, @signature)
        """;
    public const string SelectCheckpoints = "SELECT lender_id, seq, anchor, hash, signed_at, signature FROM checkpoints WHERE lender_id = @lender_id ORDER BY seq, anchor";

    private const string ComplaintColumns = "lender_id, complaint_id, source, reference, account_id, received_at, text, status, due_at, created_at, updated_at";
    public const string InsertComplaint = $"""
        INSERT INTO complaints ({ComplaintColumns})
        VALUES (@lender_id, @complaint_id, @source, @reference, @account_id, @received_at, @text, @status, @due_at, @created_at, @updated_at)
        """;
    public const string SelectComplaint = $"SELECT {ComplaintColumns} FROM complaints WHERE lender_id = @lender_id AND complaint_id = @complaint_id";
    public const string ListComplaints = $"""
        SELECT {ComplaintColumns} FROM complaints WHERE lender_id = @lender_id AND (@status = 0 OR status = @status) AND complaint_id > @after ORDER BY complaint_id
        """;
    public const string UpdateComplaintStatus = "UPDATE complaints SET status = @status, updated_at = @updated_at WHERE lender_id = @lender_id AND complaint_id = @complaint_id";
}
