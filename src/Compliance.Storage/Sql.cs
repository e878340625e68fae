namespace Compliance.Storage;

/// <summary>
/// Statements shared by every provider. Dialects override only what differs (paging, error codes), so a
/// reader sees each query once. Parameters use '@name', which both providers accept.
/// </summary>
internal static class Sql
{
    public const string SelectSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
    public const string InsertSchemaVersion = "INSERT INTO schema_version (version, description, applied_at) VALUES (@version, @description, @applied_at)";

    public const string AnyLender = "SELECT COUNT(*) FROM lenders";
    public const string SelectLender = "SELECT lender_id, display_name, country_code, created_at FROM lenders WHERE lender_id = @lender_id";
    public const string InsertLender = "INSERT INTO lenders (lender_id, display_name, country_code, created_at) VALUES (@lender_id, @display_name, @country_code, @created_at)";

    public const string InsertApiKey = """
        INSERT INTO api_keys (key_id, lender_id, role, display_name, secret_hash, created_at, revoked_at)
        VALUES (@key_id, @lender_id, @role, @display_name, @secret_hash, @created_at, NULL)
        """;
    private const string ApiKeyColumns = "key_id, lender_id, role, display_name, secret_hash, created_at, revoked_at";
    public const string SelectApiKey = $"SELECT {ApiKeyColumns} FROM api_keys WHERE key_id = @key_id";
    public const string ListApiKeys = $"SELECT {ApiKeyColumns} FROM api_keys WHERE lender_id = @lender_id AND key_id > @after ORDER BY key_id";
    public const string RevokeApiKey = "UPDATE api_keys SET revoked_at = @revoked_at WHERE lender_id = @lender_id AND key_id = @key_id AND revoked_at IS NULL";
    public const string SelectApiKeyOfLender = $"SELECT {ApiKeyColumns} FROM api_keys WHERE lender_id = @lender_id AND key_id = @key_id";

    private const string AccountColumns = "lender_id, account_id, borrower_id, borrower_name, country_code, region, postal_code, time_zone, document, created_at, updated_at, revision";
    public const string SelectAccount = $"SELECT {AccountColumns} FROM accounts WHERE lender_id = @lender_id AND account_id = @account_id";
    public const string ListAccounts = $"SELECT {AccountColumns} FROM accounts WHERE lender_id = @lender_id AND account_id > @after ORDER BY account_id";
    // Ordered by the borrower's index (schema 0019 added account_id to it): before, SQLite walked the primary key through
    // every account of the lender to spare this sort.
    public const string AccountsOfBorrower = $"SELECT {AccountColumns} FROM accounts WHERE lender_id = @lender_id AND borrower_id = @borrower_id ORDER BY account_id";
    /// <summary>The accounts named in a list (<paramref name="ids"/>: a subquery of ids), for a batch's first look at many.</summary>
    public static string AccountsIn(string ids) => $"SELECT {AccountColumns} FROM accounts WHERE lender_id = @lender_id AND account_id IN ({ids})";
    /// <summary>Every account of the borrowers in a list, by borrower and account, as <see cref="AccountsOfBorrower"/> reads one's.</summary>
    public static string AccountsOfBorrowersIn(string ids) =>
        $"SELECT {AccountColumns} FROM accounts WHERE lender_id = @lender_id AND borrower_id IN ({ids}) ORDER BY borrower_id, account_id";
    public const string ListAccountsOfBorrower = $"SELECT {AccountColumns} FROM accounts WHERE lender_id = @lender_id AND borrower_id = @borrower_id AND account_id > @after ORDER BY account_id";
    public const string SelectAccountRevision = "SELECT revision, created_at FROM accounts WHERE lender_id = @lender_id AND account_id = @account_id";
    public const string InsertAccount = $"""
        INSERT INTO accounts ({AccountColumns})
        VALUES (@lender_id, @account_id, @borrower_id, @borrower_name, @country_code, @region, @postal_code, @time_zone, @document, @created_at, @updated_at, @revision)
        """;
    public const string UpdateAccount = """
        UPDATE accounts SET borrower_id = @borrower_id, borrower_name = @borrower_name, country_code = @country_code, region = @region,
            postal_code = @postal_code, time_zone = @time_zone, document = @document, updated_at = @updated_at, revision = @revision
        WHERE lender_id = @lender_id AND account_id = @account_id
        """;
    public const string DeleteContactIndex = "DELETE FROM contact_index WHERE lender_id = @lender_id AND account_id = @account_id";
    public const string InsertContactIndex = """
        INSERT INTO contact_index (lender_id, account_id, contact_point_id, party_id, value_hash)
        VALUES (@lender_id, @account_id, @contact_point_id, @party_id, @value_hash)
        """;

    private const string FlagColumns = "flag_id, type, effective_from, expires_at, channel, party_id, contact_point_id, note, set_by, cleared_at, window_from, source";
    private const string FlagReadColumns = $"{FlagColumns}, cleared_by, clear_reason";
    public const string SelectFlagsOfAccount = $"SELECT {FlagReadColumns} FROM flags WHERE lender_id = @lender_id AND account_id = @account_id ORDER BY created_at, flag_id";
    /// <summary>The flags of the accounts in a list, with the account id after <see cref="FlagReadColumns"/>.</summary>
    public static string FlagsOfAccountsIn(string ids) =>
        $"SELECT {FlagReadColumns}, account_id FROM flags WHERE lender_id = @lender_id AND account_id IN ({ids}) ORDER BY account_id, created_at, flag_id";
    public const string SelectFlag = $"SELECT {FlagReadColumns} FROM flags WHERE lender_id = @lender_id AND account_id = @account_id AND flag_id = @flag_id";
    public const string InsertFlag = $"""
        INSERT INTO flags (lender_id, account_id, {FlagColumns}, created_at)
        VALUES (@lender_id, @account_id, @flag_id, @type, @effective_from, @expires_at, @channel, @party_id, @contact_point_id, @note, @set_by, NULL, @window_from, @source, @created_at)
        """;
    public const string ClearFlag = "UPDATE flags SET cleared_at = @cleared_at, cleared_by = @cleared_by, clear_reason = @clear_reason WHERE lender_id = @lender_id AND account_id = @account_id AND flag_id = @flag_id AND cleared_at IS NULL";

    /// <summary>
    /// The borrower's registry stamp (see schema 0015; no row is stamp 0) and the collector's stamp (schema 0017; an
    /// unknown collector is 0), in one statement: two primary-key reads in one round trip.
    /// </summary>
    public const string SelectRegistryStamps = """
        SELECT COALESCE((SELECT stamp FROM registry_stamps WHERE lender_id = @lender_id AND borrower_id = @borrower_id), 0),
            COALESCE((SELECT stamp FROM collectors WHERE lender_id = @lender_id AND collector_id = @collector_id), 0)
        """;
    /// <summary>Moves on the registry stamp of the borrower an account belongs to (SQLite's upsert; SQL Server overrides it).</summary>
    public const string BumpRegistryStamp = """
        INSERT INTO registry_stamps (lender_id, borrower_id, stamp)
        SELECT lender_id, borrower_id, 1 FROM accounts WHERE lender_id = @lender_id AND account_id = @account_id
        ON CONFLICT (lender_id, borrower_id) DO UPDATE SET stamp = stamp + 1
        """;

    public const string UpdateAgency = "UPDATE agencies SET display_name = @display_name, active = @active WHERE lender_id = @lender_id AND agency_id = @agency_id";
    public const string InsertAgency = "INSERT INTO agencies (lender_id, agency_id, display_name, active) VALUES (@lender_id, @agency_id, @display_name, @active)";
    public const string ListAgencies = "SELECT lender_id, agency_id, display_name, active FROM agencies WHERE lender_id = @lender_id AND agency_id > @after ORDER BY agency_id";

    private const string CollectorColumns = "lender_id, collector_id, agency_id, display_name, kind, active, inactive_since, stamp";
    /// <summary>
    /// A collector made inactive is inactive from now; one staying inactive keeps its time; one made active has none.
    /// Every write moves its stamp on (schema 0017), which the gate reads under the borrower's lock.
    /// </summary>
    public const string UpdateCollector = """
        UPDATE collectors SET agency_id = @agency_id, display_name = @display_name, kind = @kind, active = @active,
            inactive_since = CASE WHEN @active = 1 THEN NULL WHEN active = 1 THEN @now ELSE inactive_since END, stamp = stamp + 1
        WHERE lender_id = @lender_id AND collector_id = @collector_id
        """;
    public const string InsertCollector = $"""
        INSERT INTO collectors ({CollectorColumns})
        VALUES (@lender_id, @collector_id, @agency_id, @display_name, @kind, @active, CASE WHEN @active = 1 THEN NULL ELSE @now END, 1)
        """;
    public const string SelectCollector = $"SELECT {CollectorColumns} FROM collectors WHERE lender_id = @lender_id AND collector_id = @collector_id";
    public const string ListCollectors = $"SELECT {CollectorColumns} FROM collectors WHERE lender_id = @lender_id AND collector_id > @after ORDER BY collector_id";
    public const string ListCollectorsOfAgency = $"SELECT {CollectorColumns} FROM collectors WHERE lender_id = @lender_id AND agency_id = @agency_id AND collector_id > @after ORDER BY collector_id";

    public const string Ping = "SELECT 1";
}
