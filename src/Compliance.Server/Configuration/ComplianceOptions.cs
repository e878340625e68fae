using Compliance.Domain.Policies;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Configuration;

/// <summary>The "Compliance" section of configuration (appsettings.json or COMPLIANCE__* environment variables).</summary>
public sealed class ComplianceOptions
{
    public const string Section = "Compliance";

    /// <summary>Where the embedded database, the generated hash key and the development key file live.
    /// Default: the user's local application data folder, "compliance".</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory();

    public StoreOptions Store { get; set; } = new();

    public AuthOptions Auth { get; set; } = new();

    public PrivacyOptions Privacy { get; set; } = new();

    public GateOptions Gate { get; set; } = new();

    public IngestOptions Ingest { get; set; } = new();

    public AuditOptions Audit { get; set; } = new();

    public ReportOptions Reports { get; set; } = new();

    public AlertOptions Alerts { get; set; } = new();

    public static string DefaultDataDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "compliance");
}

/// <summary>Which database holds the records.</summary>
public sealed class StoreOptions
{
    /// <summary>"Sqlite" (embedded default) or "SqlServer".</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>SQLite: the database file (default: compliance.db in the data directory). SQL Server: unused.</summary>
    public string? SqlitePath { get; set; }

    /// <summary>SQLite: make every commit reach the disk before it returns (survives power loss, slower). By default a
    /// commit survives a crash of the service, which is what an acknowledgement promises.</summary>
    public bool SqliteSyncEveryCommit { get; set; }

    /// <summary>SQL Server connection string.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply the schema migrations and exit, serving nothing: the migration step of a deployment (a Kubernetes
    /// Job or init container) before the replicas start.</summary>
    public bool MigrateOnly { get; set; }
}

/// <summary>How callers prove who they are.</summary>
public sealed class AuthOptions
{
    /// <summary>Bearer token of the platform administrator, who creates lenders and their first keys.
    /// Required outside Development unless <see cref="DemoLender"/> is on.</summary>
    public string? PlatformAdminKey { get; set; }

    /// <summary>On first start with an empty database, create a demo lender, print its keys once and write them
    /// to dev-keys.json in the data directory. Default: on in Development, off elsewhere.</summary>
    public bool? DemoLender { get; set; }

    /// <summary>How long a verified key is trusted before it is looked up again (revocation delay across replicas).</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Alerts.Watch across replicas.</summary>
public sealed class AlertOptions
{
    /// <summary>How often a watch reads the incidents table for incidents stored through other replicas (those stored
    /// through this one wake it at once). At most 1 minute.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Protection of borrowers' personal data.</summary>
public sealed class PrivacyOptions
{
    /// <summary>Base64 key (at least 32 bytes) for the keyed hashes of phone numbers and addresses. In Development a
    /// key is generated into the data directory when unset; elsewhere it is required. Changing it orphans every
    /// stored hash.</summary>
    public string? ContactHashKey { get; set; }
}

/// <summary>The contact gate's timing.</summary>
public sealed class GateOptions
{
    /// <summary>How long an allowed Authorize holds its slot while no event confirms it (the dialer asked but never dialled).</summary>
    public TimeSpan ReservationTtl { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often lapsed reservations are released.</summary>
    public TimeSpan ReleaseInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often policies stored by other replicas are picked up.</summary>
    public TimeSpan PolicyRefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How far ahead the gate searches for the next allowed time of a denied contact.</summary>
    public TimeSpan NextAllowedHorizon { get; set; } = TimeSpan.FromDays(35);

    /// <summary>Most accounts (and as many collectors, borrowers' account lists and stamps) the gate and the stream keep
    /// read; past it each map is emptied and read again.</summary>
    public int AccountCacheEntries { get; set; } = 200_000;

    /// <summary>Most borrowers whose histories the embedded store's gate remembers between decisions; past it, those
    /// used longest ago are dropped. Only histories no write has outdated are held.</summary>
    public int HistoryCacheBorrowers { get; set; } = 100_000;
}

/// <summary>The event stream's batching, windows and pattern thresholds.</summary>
public sealed class IngestOptions
{
    /// <summary>Most events written in one group commit.</summary>
    public int MaxBatch { get; set; } = 2000;

    /// <summary>Events waiting to be stored before senders are slowed down (backpressure).</summary>
    public int QueueCapacity { get; set; } = 20_000;

    /// <summary>Most events one StreamRequest or ImportHistoryRequest may carry; more answers RESOURCE_EXHAUSTED.</summary>
    public int MaxEventsPerRequest { get; set; } = 5_000;

    /// <summary>How late an event may arrive on the live stream; older events go through ImportHistory.</summary>
    public TimeSpan LateWindow { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How far in the future an event's time may lie (clock skew of the sender).</summary>
    public TimeSpan FutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far back ImportHistory accepts events.</summary>
    public TimeSpan ImportWindow { get; set; } = TimeSpan.FromDays(400);

    /// <summary>Keep borrowers' histories in memory between group commits. Default: on for the embedded SQLite store,
    /// where this process is the only writer; off for SQL Server, where replicas write too.</summary>
    public bool? CacheHistories { get; set; }

    /// <summary>Most borrowers whose windows the history cache holds; past it, those used longest ago are dropped.</summary>
    public int HistoryCacheBorrowers { get; set; } = 100_000;

    /// <summary>Most attempts the history cache holds over all borrowers (about 200 bytes each); past it, the borrowers
    /// used longest ago are dropped.</summary>
    public long HistoryCacheRows { get; set; } = 2_000_000;

    /// <summary>Score the next batch while the previous one is written. Default: on where the history cache is on (the
    /// embedded store, a single writing process); off for SQL Server, where each batch holds its borrowers' locks.</summary>
    public bool? Pipeline { get; set; }
}

/// <summary>The ledger's signing, checkpoints and retention.</summary>
public sealed class AuditOptions
{
    /// <summary>PEM of the ECDSA P-256 private key (PKCS#8) that signs checkpoints. Generated into the data directory in
    /// Development; required elsewhere. Auditors get the public half (VerificationKey).</summary>
    public string? SigningKey { get; set; }

    /// <summary>PEM of the public key used to verify checkpoints; default: the public half of SigningKey.</summary>
    public string? VerificationKey { get; set; }

    /// <summary>How often each lender's chain head is signed.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The witness: an append-only file outside the database that receives every signed checkpoint as one JSON line
    /// when it is made (created 0600). Point it at other storage (another disk, a mounted log store) so that a
    /// database restored from an older copy, or stripped of its checkpoints, is caught. Default: checkpoints.witness.jsonl
    /// in the data directory.
    /// </summary>
    public string? WitnessPath { get; set; }

    /// <summary>The witness file in force: <see cref="WitnessPath"/>, else checkpoints.witness.jsonl in the data directory.</summary>
    public string WitnessFile(string dataDirectory) => string.IsNullOrWhiteSpace(WitnessPath) ? Path.Combine(dataDirectory, "checkpoints.witness.jsonl") : WitnessPath;

    /// <summary>
    /// Ledger entries are purged once this long has passed after the last activity on their account. Default, and
    /// least: the longest record-keeping period of the built-in profiles (the <c>records</c> of each profile's YAML;
    /// Regulation F's 3 years after the last collection activity, 1096 days), because one period applies to every
    /// lender's records whatever law their accounts fall under.
    /// </summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>The period in force: <see cref="Retention"/>, else the longest record-keeping period of the profiles.</summary>
    public TimeSpan RetentionPeriod(ProfileCatalog catalog) =>
        Retention ?? (catalog.KeepsRecordsLongest?.Records is { } records
            ? TimeSpan.FromDays(records.KeepDays)
            : throw new InvalidOperationException("No profile sets a record-keeping period, and Compliance:Audit:Retention is not set."));

    /// <summary>Quartz cron expression of the retention purge (default: daily at 03:00 UTC).</summary>
    public string PurgeSchedule { get; set; } = "0 0 3 * * ?";
}

/// <summary>Scheduled reports: when each kind is built (Quartz cron expressions read in each lender's reporting zone) and how big a report may be.</summary>
public sealed class ReportOptions
{
    /// <summary>Build the scheduled reports (daily, weekly, monthly). Reports can be run on request either way.</summary>
    public bool Schedule { get; set; } = true;

    /// <summary>When a day's report is due: at the first time this expression names after the day ends (default 02:00 the next day).</summary>
    public string Daily { get; set; } = "0 0 2 * * ?";

    /// <summary>When a week's (Monday to Sunday) report is due (default Monday 02:00).</summary>
    public string Weekly { get; set; } = "0 0 2 ? * MON";

    /// <summary>When a month's report is due (default 02:00 on the 1st).</summary>
    public string Monthly { get; set; } = "0 0 2 1 * ?";

    /// <summary>How often each replica looks for reports that are due (its first look is at start, catching up missed periods).</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Periods that ended longer ago than this are not caught up (nor those before the lender existed).</summary>
    public TimeSpan CatchUp { get; set; } = TimeSpan.FromDays(62);

    /// <summary>How long a claim to build a report holds before another replica may take it over (its builder is taken for dead).</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most rows one listing of a report may hold (examiner exports' contact log, a statement's events).</summary>
    public int MaxRows { get; set; } = 100_000;

    /// <summary>Most incidents and frequency exceptions a period report lists (all are counted; the examiner export lists every one).</summary>
    public int ListedRows { get; set; } = 1_000;
}

/// <summary>Checks the configuration at start and names the setting that is wrong.</summary>
internal sealed class ComplianceOptionsValidator(IHostEnvironment environment, IConfiguration configuration) : IValidateOptions<ComplianceOptions>
{
    /// <summary>Settings that became policy data: a limit or a privacy choice belongs to the lender's policy, with its citation.</summary>
    private static readonly (string Key, string Instead)[] MovedToPolicy =
    [
        ("Compliance:Ingest:KeepMessageBodies", "the lender policy's evidence.keep_message_bodies"),
        ("Compliance:Ingest:BlastThreshold", "the rule BASE.address-book-blast (policy override max_third_parties)"),
        ("Compliance:Ingest:BlastWindow", "the rule BASE.address-book-blast (policy override window_hours)"),
    ];

    public ValidateOptionsResult Validate(string? name, ComplianceOptions options)
    {
        var problems = new List<string>();
        foreach (var (setting, instead) in MovedToPolicy)
        {
            if (configuration[setting] is not null)
            {
                problems.Add($"{setting} is no longer a setting: it is policy data now, in {instead} (PolicyService.PutPolicy).");
            }
        }

        var provider = options.Store.Provider;
        if (!string.Equals(provider, "Sqlite", StringComparison.OrdinalIgnoreCase) && !string.Equals(provider, "SqlServer", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Compliance:Store:Provider must be 'Sqlite' or 'SqlServer', not '{provider}'.");
        }

        if (string.Equals(provider, "SqlServer", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(options.Store.ConnectionString))
        {
            problems.Add("Compliance:Store:ConnectionString is required when Compliance:Store:Provider is 'SqlServer'.");
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            problems.Add("Compliance:DataDirectory must not be empty.");
        }

        var demo = options.Auth.DemoLender ?? environment.IsDevelopment();
        if (options.Auth.DemoLender == true && environment.IsProduction())
        {
            problems.Add("Compliance:Auth:DemoLender is for development only: in Production it would create a lender whose keys are written to a file and the log. Remove the setting.");
        }

        if (!demo && string.IsNullOrWhiteSpace(options.Auth.PlatformAdminKey))
        {
            problems.Add("Compliance:Auth:PlatformAdminKey is required outside Development (set COMPLIANCE__AUTH__PLATFORMADMINKEY to a random secret of 32 or more characters).");
        }

        if (options.Auth.PlatformAdminKey is { Length: > 0 and < 32 })
        {
            problems.Add("Compliance:Auth:PlatformAdminKey must be at least 32 characters long.");
        }

        if (options.Auth.KeyCacheTtl < TimeSpan.Zero || options.Auth.KeyCacheTtl > TimeSpan.FromMinutes(10))
        {
            problems.Add("Compliance:Auth:KeyCacheTtl must be between 00:00:00 and 00:10:00.");
        }

        if (options.Gate.ReservationTtl <= TimeSpan.Zero || options.Gate.ReservationTtl > TimeSpan.FromHours(24))
        {
            problems.Add("Compliance:Gate:ReservationTtl must be between 00:00:01 and 1.00:00:00.");
        }

        if (options.Gate.ReleaseInterval <= TimeSpan.Zero || options.Gate.PolicyRefreshInterval <= TimeSpan.Zero)
        {
            problems.Add("Compliance:Gate:ReleaseInterval and Compliance:Gate:PolicyRefreshInterval must be positive.");
        }

        if (options.Gate.NextAllowedHorizon < TimeSpan.FromDays(1) || options.Gate.NextAllowedHorizon > TimeSpan.FromDays(400))
        {
            problems.Add("Compliance:Gate:NextAllowedHorizon must be between 1.00:00:00 and 400.00:00:00.");
        }

        if (options.Gate.AccountCacheEntries < 1 || options.Gate.HistoryCacheBorrowers < 1 || options.Ingest.HistoryCacheBorrowers < 1 || options.Ingest.HistoryCacheRows < 1)
        {
            problems.Add("Compliance:Gate:AccountCacheEntries, Compliance:Gate:HistoryCacheBorrowers, Compliance:Ingest:HistoryCacheBorrowers and Compliance:Ingest:HistoryCacheRows must be positive.");
        }

        if (options.Ingest.MaxBatch is < 1 or > 100_000 || options.Ingest.QueueCapacity < options.Ingest.MaxBatch)
        {
            problems.Add("Compliance:Ingest:MaxBatch must be 1..100000 and Compliance:Ingest:QueueCapacity at least MaxBatch.");
        }

        if (options.Ingest.MaxEventsPerRequest is < 1 or > 100_000)
        {
            problems.Add("Compliance:Ingest:MaxEventsPerRequest must be 1..100000.");
        }

        if (string.IsNullOrWhiteSpace(options.Audit.SigningKey) && !environment.IsDevelopment())
        {
            problems.Add("Compliance:Audit:SigningKey is required outside Development (PEM of an ECDSA P-256 private key, e.g. `openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt`).");
        }

        if (ProfileCatalog.BuiltIn.KeepsRecordsLongest is not { Records: { } records } longest)
        {
            if (options.Audit.Retention is not { } set || set <= TimeSpan.Zero)
            {
                problems.Add("Compliance:Audit:Retention must be set to a positive period: no profile sets how long records are kept.");
            }
        }
        else if (options.Audit.Retention < TimeSpan.FromDays(records.KeepDays))
        {
            problems.Add($"Compliance:Audit:Retention must be at least {TimeSpan.FromDays(records.KeepDays):c}: {longest.Id} keeps records {records.KeepDays} days "
                + $"after the last activity on the debt ({records.Citation}), and one period applies to every lender's records. Leave it unset for that least period.");
        }

        if (options.Audit.CheckpointInterval <= TimeSpan.Zero)
        {
            problems.Add("Compliance:Audit:CheckpointInterval must be positive.");
        }

        if (!IsCron(options.Audit.PurgeSchedule))
        {
            problems.Add($"Compliance:Audit:PurgeSchedule '{options.Audit.PurgeSchedule}' is not a valid Quartz cron expression.");
        }

        foreach (var (kind, expression) in new[] { ("Daily", options.Reports.Daily), ("Weekly", options.Reports.Weekly), ("Monthly", options.Reports.Monthly) })
        {
            if (!IsCron(expression))
            {
                problems.Add($"Compliance:Reports:{kind} '{expression}' is not a valid Quartz cron expression.");
            }
        }

        if (options.Alerts.PollInterval <= TimeSpan.Zero || options.Alerts.PollInterval > TimeSpan.FromMinutes(1))
        {
            problems.Add("Compliance:Alerts:PollInterval must be positive and at most 1 minute (00:01:00).");
        }

        if (options.Reports.CheckInterval <= TimeSpan.Zero || options.Reports.ClaimLease <= TimeSpan.Zero || options.Reports.CatchUp < TimeSpan.Zero
            || options.Reports.MaxRows < 1 || options.Reports.ListedRows < 1)
        {
            problems.Add("Compliance:Reports:CheckInterval and ClaimLease must be positive, CatchUp not negative, MaxRows and ListedRows at least 1.");
        }

        if (options.Privacy.ContactHashKey is { Length: > 0 } key && !IsKey(key))
        {
            problems.Add("Compliance:Privacy:ContactHashKey must be base64 of at least 32 bytes.");
        }

        if (string.IsNullOrWhiteSpace(options.Privacy.ContactHashKey) && !environment.IsDevelopment())
        {
            problems.Add("Compliance:Privacy:ContactHashKey is required outside Development (base64 of at least 32 random bytes, e.g. `openssl rand -base64 32`).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsCron(string expression)
    {
        try
        {
            _ = new Quartz.CronExpression(expression);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsKey(string value)
    {
        Span<byte> buffer = stackalloc byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out var written) && written >= 32;
    }
}
