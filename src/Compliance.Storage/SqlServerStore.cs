using System.Data.Common;
using Microsoft.Data.SqlClient;

namespace Compliance.Storage;

/// <summary>SQL Server: the store for production and for running several replicas.</summary>
public sealed class SqlServerStore : AdoStore
{
    /// <summary>The binary collation of every id and hash column (schema 0013): ids compare byte for byte, as in SQLite.</summary>
    internal const string KeyCollation = "Latin1_General_100_BIN2";

    // 2627: PRIMARY KEY or UNIQUE constraint; 2601: unique index.
    private static readonly int[] UniqueViolations = [2627, 2601];

    private readonly Func<DbConnection> _connect;

    public SqlServerStore(string connectionString)
        : this(() => new SqlConnection(connectionString))
    {
    }

    /// <summary>A store over connections made by the caller (the T-SQL test's recording connection).</summary>
    internal SqlServerStore(Func<DbConnection> connect) => _connect = connect;

    protected override string SchemaFolder => "SqlServer";

    protected override string LimitClause => " OFFSET 0 ROWS FETCH NEXT @limit ROWS ONLY";

    protected override string CreateSchemaVersionTable => """
        IF OBJECT_ID(N'schema_version', N'U') IS NULL
            CREATE TABLE schema_version (version INT NOT NULL PRIMARY KEY, description NVARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)
        """;

    // sp_getapplock reports a timeout or deadlock by its return value, not an error: turn it into one, so the gate
    // fails closed and the ingest batch is retried instead of going ahead without the lock.
    protected override string LockResourceSql => """
        DECLARE @lock_result int;
        EXEC @lock_result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 10000;
        IF @lock_result < 0 THROW 51000, 'A lock on the borrower or the ledger was not granted in time.', 1;
        """;

    // MERGE with HOLDLOCK takes the key range, so two first changes of one borrower's data do not both insert.
    protected override string BumpRegistryStampSql => """
        MERGE registry_stamps WITH (HOLDLOCK) AS t
        USING (SELECT lender_id, borrower_id FROM accounts WHERE lender_id = @lender_id AND account_id = @account_id) AS s
        ON t.lender_id = s.lender_id AND t.borrower_id = s.borrower_id
        WHEN MATCHED THEN UPDATE SET stamp = t.stamp + 1
        WHEN NOT MATCHED THEN INSERT (lender_id, borrower_id, stamp) VALUES (s.lender_id, s.borrower_id, 1);
        """;

    // OPENJSON's values carry no collation of the key columns: compared with one, two implicit collations would
    // conflict (error 468), so the list says its own.
    private protected override string ListOf(string parameter) => $"SELECT value COLLATE {KeyCollation} FROM OPENJSON({parameter})";

    protected override DbConnection CreateConnection() => _connect();

    protected override bool IsUniqueViolation(DbException e) => e is SqlException s && UniqueViolations.Contains(s.Number);
}
