using System.Data.Common;
using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>
/// A working table whose rows the API serves as evidence, bound to the lender's chain: every write of a row records
/// the row's <see cref="RowDigest"/> in a ledger entry in the same transaction, and the verifier recomputes it from
/// the stored columns. The columns are hashed in the order listed here; the key is the row's id within the lender.
/// </summary>
public sealed class BoundTable
{
    private BoundTable(string name, string keyColumn, params string[] columns)
    {
        Name = name;
        KeyColumn = keyColumn;
        Columns = columns;
        var list = string.Join(", ", columns);
        SelectOne = $"SELECT {list} FROM {name} WHERE lender_id = @lender_id AND {keyColumn} = @key";
        SelectAll = $"SELECT {keyColumn}, {list} FROM {name} WHERE lender_id = @lender_id ORDER BY {keyColumn}";
        SelectEveryLender = $"SELECT {keyColumn}, {list}, lender_id FROM {name} ORDER BY lender_id, {keyColumn}";
    }

    public string Name { get; }

    public string KeyColumn { get; }

    public IReadOnlyList<string> Columns { get; }

    internal string SelectOne { get; }

    internal string SelectAll { get; }

    /// <summary>Every lender's rows, with the lender last (for the upgrade that first binds them).</summary>
    internal string SelectEveryLender { get; }

    public static readonly BoundTable Complaints = new("complaints", "complaint_id",
        "source", "reference", "account_id", "received_at", "text", "status", "due_at", "created_at", "updated_at");

    public static readonly BoundTable Flags = new("flags", "flag_id",
        "account_id", "type", "effective_from", "expires_at", "channel", "party_id", "contact_point_id", "note", "set_by", "cleared_at", "created_at",
        "window_from", "source", "cleared_by", "clear_reason");

    public static readonly BoundTable Decisions = new("decisions", "decision_id",
        "account_id", "collector_id", "channel", "purpose", "destination_hash", "destination_masked", "destination_class", "allowed", "failed_closed",
        "rules", "profiles", "next_allowed_at", "policy_version", "evaluated_at", "reserved_until", "key_id", "hours");

    public static readonly BoundTable Policies = new("policies", "version", "effective_at", "document", "created_at", "created_by");

    public static readonly BoundTable Accounts = new("accounts", "account_id",
        "borrower_id", "borrower_name", "country_code", "region", "postal_code", "time_zone", "document", "created_at", "updated_at", "revision");

    /// <summary>Every bound table, in the order the verifier reads them.</summary>
    public static IReadOnlyList<BoundTable> All { get; } = [Accounts, Flags, Policies, Decisions, Complaints];

    /// <summary>The canonical text of a key value (the policies' key is a number).</summary>
    public static string KeyText(object key) => RowDigest.Canonical(key).Text ?? "";

    /// <summary>The row's binding, from the parameters it was written with (found by column name; others are ignored).</summary>
    public RowRef Bind(string key, IReadOnlyList<(string Name, object? Value)> written) =>
        new(Name, key, Convert.ToHexStringLower(RowDigest.Hash(Name, key, Columns.Select(c => (c, Find(written, c))))));

    private static object? Find(IReadOnlyList<(string Name, object? Value)> written, string column)
    {
        foreach (var (name, value) in written)
        {
            if (name == column)
            {
                return value;
            }
        }

        throw new ArgumentException($"The write gives no value for the bound column {column}.", nameof(written));
    }

    /// <summary>The row a reader of <see cref="SelectAll"/> stands on.</summary>
    internal StoredRow Read(DbDataReader r)
    {
        var key = KeyText(r.GetValue(0));
        var values = new (string Column, object? Value)[Columns.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (Columns[i], r.IsDBNull(i + 1) ? null : r.GetValue(i + 1));
        }

        return new StoredRow(Name, key, Convert.ToHexStringLower(RowDigest.Hash(Name, key, values)), values);
    }
}

/// <summary>A stored row of a bound table, with its hash recomputed from what is stored.</summary>
public sealed record StoredRow(string Table, string Key, string Hash, IReadOnlyList<(string Column, object? Value)> Values);

/// <summary>The payload of a <see cref="LedgerKind.RowsBound"/> entry: rows found in the tables when they were first bound.</summary>
public sealed record RowsBoundPayload(IReadOnlyList<RowRef> Rows);
