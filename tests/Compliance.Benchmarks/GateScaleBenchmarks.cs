using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Storage;
using Microsoft.Data.Sqlite;

namespace Compliance.Benchmarks;

/// <summary>
/// The decision path the server runs per Authorize, minus gRPC: read the account and the borrower's history from a
/// real SQLite file, then evaluate. Run with 10 thousand and 1 million registered accounts: the cost per decision
/// should not grow with the registry. The "Ratio to 10k" column compares each size with the 10k run of the same
/// method; the in-class baseline evaluates the same account and history already in memory, so Ratio shows what
/// the store adds.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[Config(typeof(Config))]
public class GateScaleBenchmarks
{
    /// <summary>Accounts whose borrowers have a history; the benchmark cycles through them.</summary>
    private const int Probes = 256;
    private const string Hash = "7215ee9c7d9dc229d2921a40e899ec5f";

    private string _directory = "";
    private SqliteStore _store = null!;
    private CompiledPolicy _policy = null!;
    private string[] _probeIds = [];
    private (Account Account, List<Attempt> History)[] _loaded = [];
    private int _next;

    [Params(10_000, 1_000_000)]
    public int Accounts { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"compliance-bench-{Guid.NewGuid():N}");
        _store = new SqliteStore(Path.Combine(_directory, "compliance.db"));
        _policy = Scenarios.DefaultPolicy();
        await _store.MigrateAsync(CancellationToken.None);
        await _store.CreateLenderAsync(new Lender(Scenarios.Lender, "Bench Lender", "US", Scenarios.UsMorning), CancellationToken.None);

        var started = System.Diagnostics.Stopwatch.StartNew();
        await PopulateAsync();
        _probeIds = Enumerable.Range(0, Probes).Select(i => AccountId((long)i * Accounts / Probes)).ToArray();
        await _store.RunIngestAsync(async session =>
        {
            foreach (var id in _probeIds)
            {
                var n = 0;
                foreach (var attempt in Scenarios.History(Scenarios.UsMorning, id, id + "-2", Hash))
                {
                    await session.AddAttemptAsync(Scenarios.Lender, $"{id}-att-{n++}", BorrowerOf(id), "", attempt);
                }
            }
        }, CancellationToken.None);
        Console.WriteLine($"// {Accounts:N0} accounts and {Probes * 50:N0} attempts stored in {started.Elapsed.TotalSeconds:0.0} s");

        _loaded = new (Account, List<Attempt>)[Probes];
        for (var i = 0; i < Probes; i++)
        {
            var account = await _store.GetAccountAsync(Scenarios.Lender, _probeIds[i], CancellationToken.None)
                ?? throw new InvalidOperationException($"Account {_probeIds[i]} was not stored.");
            var history = await _store.HistoryAsync(Scenarios.Lender, account.BorrowerId, Scenarios.UsMorning - _policy.Lookback, CancellationToken.None);
            _loaded[i] = (account, history.ToList());
            Scenarios.Expect(_policy.Evaluate(Scenarios.CallToMobile(account, Scenarios.UsMorning), history), allowed: true, nextAllowed: false, $"stored {_probeIds[i]}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "Evaluate only (account and history in memory)")]
    public GateResult EvaluateOnly()
    {
        var (account, history) = _loaded[_next++ % Probes];
        return _policy.Evaluate(Scenarios.CallToMobile(account, Scenarios.UsMorning), history);
    }

    [Benchmark(Description = "GetAccount + History + Evaluate (SQLite)")]
    public async Task<GateResult> FullPath()
    {
        var id = _probeIds[_next++ % Probes];
        var account = await _store.GetAccountAsync(Scenarios.Lender, id, CancellationToken.None)
            ?? throw new InvalidOperationException($"Account {id} vanished.");
        var history = await _store.HistoryAsync(Scenarios.Lender, account.BorrowerId, Scenarios.UsMorning - _policy.Lookback, CancellationToken.None);
        return _policy.Evaluate(Scenarios.CallToMobile(account, Scenarios.UsMorning), history);
    }

    private static string AccountId(long i) => $"acc-{i:D7}";

    private static string BorrowerOf(string accountId) => "bor-" + accountId[4..];

    /// <summary>
    /// Inserts the accounts and their contact index rows directly, in key order, with one prepared statement each in
    /// one transaction. The account document is the one the store itself wrote for a template account, with the
    /// contact hash swapped per account.
    /// </summary>
    private async Task PopulateAsync()
    {
        var template = Scenarios.Account("template", "bor-template", Scenarios.Massachusetts, Hash);
        await _store.UpsertAccountAsync(template, CancellationToken.None);

        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _store.Path, Pooling = false }.ToString());
        await connection.OpenAsync();
        string document;
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT document FROM accounts WHERE lender_id = $lender AND account_id = 'template'";
            read.Parameters.AddWithValue("$lender", Scenarios.Lender);
            document = (string)(await read.ExecuteScalarAsync())!;
        }

        await using (var pragma = connection.CreateCommand())
        {
            // Bulk load only: this connection's commits need not reach the disk before the benchmark starts.
            pragma.CommandText = "PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;";
            await pragma.ExecuteNonQueryAsync();
        }

        await using var tx = connection.BeginTransaction();
        await using var account = connection.CreateCommand();
        account.Transaction = tx;
        account.CommandText = """
            INSERT INTO accounts (lender_id, account_id, borrower_id, borrower_name, country_code, region, postal_code, time_zone, document, created_at, updated_at, revision)
            VALUES ($lender, $account, $borrower, 'Jane Doe', 'US', 'US-MA', '02108', 'America/New_York', $document, $at, $at, 1)
            """;
        await using var contact = connection.CreateCommand();
        contact.Transaction = tx;
        contact.CommandText = "INSERT INTO contact_index (lender_id, account_id, contact_point_id, party_id, value_hash) VALUES ($lender, $account, 'mobile', '', $hash)";

        account.Parameters.AddWithValue("$lender", Scenarios.Lender);
        var accountId = account.Parameters.Add("$account", SqliteType.Text);
        var borrowerId = account.Parameters.Add("$borrower", SqliteType.Text);
        var doc = account.Parameters.Add("$document", SqliteType.Text);
        account.Parameters.AddWithValue("$at", Scenarios.UsMorning.AddDays(-90).ToUnixTimeMilliseconds());
        contact.Parameters.AddWithValue("$lender", Scenarios.Lender);
        var contactAccount = contact.Parameters.Add("$account", SqliteType.Text);
        var contactHash = contact.Parameters.Add("$hash", SqliteType.Text);
        account.Prepare();
        contact.Prepare();

        for (long i = 0; i < Accounts; i++)
        {
            var id = AccountId(i);
            var hash = $"{i:x32}";
            accountId.Value = id;
            borrowerId.Value = BorrowerOf(id);
            doc.Value = document.Replace(Hash, hash, StringComparison.Ordinal);
            account.ExecuteNonQuery();
            contactAccount.Value = id;
            contactHash.Value = hash;
            contact.ExecuteNonQuery();
        }

        await tx.CommitAsync();
    }

    /// <summary>Adds the per-size comparison: each row's mean over the mean of the same method at 10k accounts.</summary>
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new RatioToSmallest());
    }

    private sealed class RatioToSmallest : IColumn
    {
        public string Id => nameof(RatioToSmallest);
        public string ColumnName => "Ratio to 10k";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Mean over the mean of the same method with 10,000 accounts";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var reference = summary.BenchmarksCases.FirstOrDefault(c =>
                c.Descriptor == benchmarkCase.Descriptor && Equals(c.Parameters["Accounts"], 10_000));
            var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            var baseline = reference is null ? null : summary[reference]?.ResultStatistics?.Mean;
            return mean is { } m && baseline is > 0 ? (m / baseline.Value).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "?";
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
