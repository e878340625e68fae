using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Compliance.Storage.Tests;

/// <summary>
/// SQLite's plan for every query the store runs (each SQL constant of the storage assembly), on a migrated file: no
/// query reads a whole table unless it is meant to, and every column a query looks up by equality is searched by the
/// index it uses. (A borrower's accounts were once read in primary-key order and filtered: all of the lender's
/// accounts per first look at a borrower.)
/// </summary>
public sealed partial class QueryPlanTests : IAsyncDisposable
{
    /// <summary>Reads that are meant to pass over every row: lists of every lender, startup loads.</summary>
    private static readonly HashSet<string> ReadEverything = ["EventSql.AllEventKeys", "GateSql.ListAllPolicies", "LedgerSql.SelectLenders", "ReportSql.SelectLenders", "Sql.AnyLender"];

    /// <summary>Equalities checked after the index, on rows the index already narrowed to a few.</summary>
    private static readonly HashSet<(string Query, string Column)> FilteredAfterTheIndex =
    [
        ("LedgerSql.ListComplaints", "status"),          // an optional filter (@status = 0 OR status = @status) over one page
        ("ReportSql.EventsOfAccount", "account_id"),     // one account's events of a report period: read by time
        ("LedgerSql.EntriesOfAccount", "account_id"),    // one account's entries of a period: read by time
        ("ReportSql.List", "kind"),                      // an optional filter (@kind = 0 OR kind = @kind) over one page of reports
        ("GateSql.SelectExpiredReservations", "outcome"), // reservations expired since the last sweep: a few
        ("GateSql.ReleaseExpired", "outcome"),
    ];

    private readonly StoreFolder _folder = new("compliance-plans-");

    public static TheoryData<string> Queries() => [.. StoreQueries().Select(q => q.Name)];

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task EveryQuery_SearchesByTheColumnsItLooksUp(string name)
    {
        var sql = StoreQueries().Single(q => q.Name == name).Sql;
        var plan = await PlanAsync(sql);

        if (!ReadEverything.Contains(name))
        {
            Assert.DoesNotContain(plan, line => ScanOfTable().IsMatch(line));
        }

        if (await PointLookupAsync(plan))
        {
            return; // one row by a unique key: further equalities only check it
        }

        foreach (var column in LookedUp(sql).Where(c => !FilteredAfterTheIndex.Contains((name, c))))
        {
            Assert.True(plan.Any(line => line.Contains($"{column}=?", StringComparison.Ordinal)),
                $"{name} looks up {column} but its plan does not search by it:\n{string.Join('\n', plan)}");
        }
    }

    [Fact]
    public async Task ABorrowersAccounts_AreSearchedByBorrower_InAccountOrder()
    {
        var plan = await PlanAsync(Sql.AccountsOfBorrower);

        var line = Assert.Single(plan);
        Assert.Contains("ix_accounts_borrower (lender_id=? AND borrower_id=?)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", line, StringComparison.Ordinal);
    }

    /// <summary>The reads of a batch's accounts (a JSON list of ids): each table is searched by its key, never scanned.</summary>
    [Theory]
    [InlineData("accounts", "sqlite_autoindex_accounts_1 (lender_id=? AND account_id=?)")]
    [InlineData("borrowers", "ix_accounts_borrower (lender_id=? AND borrower_id=?)")]
    [InlineData("flags", "(lender_id=? AND account_id=?)")]
    public async Task ListReads_SearchEachIdByTheKey(string read, string search)
    {
        const string ids = "SELECT value FROM json_each(@ids)";
        var sql = read switch
        {
            "accounts" => Sql.AccountsIn(ids),
            "borrowers" => Sql.AccountsOfBorrowersIn(ids),
            _ => Sql.FlagsOfAccountsIn(ids),
        };

        var plan = await PlanAsync(sql);

        Assert.Contains(plan, line => line.StartsWith("SEARCH ", StringComparison.Ordinal) && line.EndsWith(search, StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.StartsWith("SCAN ", StringComparison.Ordinal) && !line.Contains("json_each", StringComparison.Ordinal));
    }

    public ValueTask DisposeAsync() => _folder.DisposeAsync();

    private static IEnumerable<(string Name, string Sql)> StoreQueries() =>
        from type in typeof(SqliteStore).Assembly.GetTypes()
        from field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
        where field.IsLiteral && field.FieldType == typeof(string)
        let sql = ((string)field.GetRawConstantValue()!).Trim()
        where Reading().IsMatch(sql)
        orderby type.Name, field.Name
        select ($"{type.Name}.{field.Name}", sql);

    /// <summary>Columns the WHERE clauses compare for equality with a parameter (<c>column = @value</c>; not an UPDATE's SET).</summary>
    private static IEnumerable<string> LookedUp(string sql) =>
        Equality().Matches(sql.IndexOf("WHERE", StringComparison.OrdinalIgnoreCase) is var at and >= 0 ? sql[at..] : "").Select(m => m.Groups["column"].Value).Where(c => c is not ("seq" or "rowid")).Distinct();

    /// <summary>Whether the plan is one search of a unique index with every one of its columns equal: at most one row.</summary>
    private async Task<bool> PointLookupAsync(List<string> plan)
    {
        if (plan is not [var line] || SearchOfIndex().Match(line) is not { Success: true } match)
        {
            return false;
        }

        var equalities = match.Groups["terms"].Value.Split(" AND ");
        if (equalities.Any(t => !t.EndsWith("=?", StringComparison.Ordinal)))
        {
            return false;
        }

        if (match.Groups["index"].Value == "INTEGER PRIMARY KEY")
        {
            return true;
        }

        await using var connection = new SqliteConnection($"Data Source={_folder.File("plans.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT COUNT(*) FROM pragma_index_info(@index)),
                   (SELECT MAX(l."unique") FROM sqlite_master m, pragma_index_list(m.tbl_name) l WHERE m.name = @index AND l.name = @index)
            """;
        command.Parameters.AddWithValue("@index", match.Groups["index"].Value);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() && !reader.IsDBNull(1) && reader.GetInt64(1) == 1 && reader.GetInt64(0) == equalities.Length;
    }

    private async Task<List<string>> PlanAsync(string sql)
    {
        var path = _folder.File("plans.db");
        if (!File.Exists(path))
        {
            await _folder.Keep(new SqliteStore(path)).MigrateAsync(CancellationToken.None);
        }

        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var parameter in Parameter().Matches(sql).Select(m => m.Value).Distinct())
        {
            command.Parameters.AddWithValue(parameter, DBNull.Value);
        }

        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(3));
        }

        return plan;
    }

    [GeneratedRegex(@"^(SELECT|WITH|UPDATE|DELETE)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Reading();

    [GeneratedRegex(@"^SCAN (?!CONSTANT ROW)")]
    private static partial Regex ScanOfTable();

    [GeneratedRegex(@"(?:\b\w+\.)?\b(?<column>[a-z_]+)\s*=\s*@\w+")]
    private static partial Regex Equality();

    [GeneratedRegex(@"^SEARCH \w+ USING (?:COVERING )?(?:INDEX (?<index>\w+)|(?<index>INTEGER PRIMARY KEY)) \((?<terms>[^)]*)\)$")]
    private static partial Regex SearchOfIndex();

    [GeneratedRegex(@"@\w+")]
    private static partial Regex Parameter();
}
