namespace Compliance.Domain.Registry;

/// <summary>
/// Where the borrower is: selects rule sets and the local time zone(s). <see cref="TimeZoneConfirmed"/>: the consumer
/// confirmed <see cref="TimeZone"/>, which then decides local time alone; otherwise it is one indicator among the
/// region and the consumer's numbers.
/// </summary>
public sealed record Location(string CountryCode, string Region, string PostalCode, string TimeZone, bool TimeZoneConfirmed = false)
{
    public static readonly Location Empty = new("", "", "", "");
}

/// <summary>
/// A contact point as stored: never the raw value, only the keyed hash of its normalised form and a masked
/// display form.
/// </summary>
public sealed record ContactPoint(
    string ContactPointId,
    ContactPointKind Kind,
    ContactPointUse Use,
    string ValueHash,
    string Masked,
    string Region,
    bool Invalid,
    IReadOnlyList<string> TimeZones);

/// <summary>A person other than the borrower, registered on an account.</summary>
public sealed record Party(string PartyId, PartyRole Role, string DisplayName, IReadOnlyList<ContactPoint> ContactPoints)
{
    public bool Related => Role.IsRelated();
}

/// <summary>A local wall-clock range in minutes after midnight, on the given ISO weekdays (empty: every day).</summary>
public sealed record LocalTimeRange(int StartMinute, int EndMinute, IReadOnlyList<int> Weekdays);

/// <summary>
/// A flag with its effective period. Flags are never deleted: clearing sets <see cref="ClearedAt"/>.
/// <see cref="WindowFrom"/>: for a consent to calls, the start of the day or time the consumer named (null: from when
/// it was given, <see cref="EffectiveFrom"/>). <see cref="Source"/>: for a wrong number, the <see cref="WrongNumberSource"/>;
/// for a validation notice, the <see cref="ValidationDelivery"/>.
/// </summary>
public sealed record Flag(
    string FlagId,
    FlagType Type,
    DateTimeOffset EffectiveFrom,
    DateTimeOffset? ExpiresAt,
    Channel Channel,
    string PartyId,
    string ContactPointId,
    string Note,
    string SetBy,
    DateTimeOffset? ClearedAt,
    DateTimeOffset? WindowFrom = null,
    int Source = 0)
{
    /// <summary>The key that cleared the flag, when it was cleared.</summary>
    public string ClearedBy { get; init; } = "";

    /// <summary>Why the flag was cleared (required for flags that bar contact, such as cease and attorney).</summary>
    public string ClearReason { get; init; } = "";

    /// <summary>Whether the flag is in force at an instant.</summary>
    public bool InForceAt(DateTimeOffset at) =>
        EffectiveFrom <= at && (ExpiresAt is null || at < ExpiresAt) && (ClearedAt is null || at < ClearedAt);
}

/// <summary>One debt of one borrower at one lender.</summary>
public sealed record Account(
    string LenderId,
    string AccountId,
    string BorrowerId,
    string BorrowerName,
    Location Location,
    IReadOnlyList<ContactPoint> ContactPoints,
    IReadOnlyList<Party> Parties,
    IReadOnlyList<Flag> Flags,
    IReadOnlyList<string> Profiles,
    IReadOnlyList<LocalTimeRange> InconvenientTimes,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Revision)
{
    /// <summary>Every contact point of the account, the borrower's first, each with the party it belongs to (null: the borrower).</summary>
    public IEnumerable<(ContactPoint Point, Party? Party)> AllContactPoints()
    {
        foreach (var point in ContactPoints)
        {
            yield return (point, null);
        }

        foreach (var party in Parties)
        {
            foreach (var point in party.ContactPoints)
            {
                yield return (point, party);
            }
        }
    }
}

/// <summary>A collection agency of a lender.</summary>
public sealed record Agency(string LenderId, string AgencyId, string DisplayName, bool Active);

/// <summary>
/// A person or system that contacts borrowers for a lender. <see cref="InactiveSince"/> is when the service was told
/// the collector is inactive (null while active, and for one recorded inactive before the service kept that time).
/// </summary>
public sealed record Collector(string LenderId, string CollectorId, string AgencyId, string DisplayName, CollectorKind Kind, bool Active,
    DateTimeOffset? InactiveSince = null)
{
    /// <summary>
    /// Whether the collector was active at <paramref name="at"/>, as far as the service knows: a contact from before the
    /// lender deactivated the collector (an imported or late event) was made by an active collector. Only the last
    /// deactivation is kept, so a collector active again now counts as active throughout.
    /// </summary>
    public bool ActiveAt(DateTimeOffset at) => Active || (InactiveSince is { } since && at < since);

    /// <summary>
    /// Moves on with every change of the collector, through any replica; read with the collector, so a copy kept in a
    /// cache carries the stamp it was read at. 0 for a collector not read from the store.
    /// </summary>
    public long Stamp { get; init; }
}

/// <summary>The tenant.</summary>
public sealed record Lender(string LenderId, string DisplayName, string CountryCode, DateTimeOffset CreatedAt);

/// <summary>An API key's stored form: the secret only as a hash.</summary>
public sealed record ApiKey(
    string KeyId,
    string LenderId,
    Role Role,
    string DisplayName,
    string SecretHash,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt);
