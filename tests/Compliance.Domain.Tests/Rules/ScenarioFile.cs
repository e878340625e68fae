using System.Globalization;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Compliance.Domain.Tests.Rules;

/// <summary>
/// A file of gate scenarios (Scenarios/*.yaml), written for a compliance officer to read: the account, its
/// history, the contact asked about and the expected answer. Every instant is written out, so the clock is pinned.
/// </summary>
public sealed class ScenarioFile
{
    public ScenarioAccount Defaults { get; set; } = new();
    public List<Scenario> Scenarios { get; set; } = [];

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Scenarios");

    public static ScenarioFile Load(string name) =>
        Reader.Deserialize<ScenarioFile>(File.ReadAllText(Path.Combine(Directory, name + ".yaml")));

    public static T Parse<T>(string yaml) => Reader.Deserialize<T>(yaml);
}

public sealed class Scenario
{
    public string Name { get; set; } = "";
    /// <summary>The paragraph of the rule, its commentary or the statute the row comes from.</summary>
    public string? Source { get; set; }
    public ScenarioAccount? Account { get; set; }
    public string? Policy { get; set; }
    public List<ScenarioAttempt> History { get; set; } = [];
    public ScenarioContact Contact { get; set; } = new();
    public ScenarioExpectation Expect { get; set; } = new();
}

public sealed class ScenarioAccount
{
    public string? Country { get; set; }
    public string? Region { get; set; }
    public string? Zone { get; set; }
    public string? Postal { get; set; }
    /// <summary>Whether the consumer confirmed <see cref="Zone"/> (then it alone decides local time).</summary>
    public bool? ZoneConfirmed { get; set; }
    /// <summary>The zones of the consumer's own points, by key (mobile, home, work, other): what libphonenumber gives a number.</summary>
    public Dictionary<string, List<string>>? PointZones { get; set; }
    public List<string>? Invalid { get; set; }
    public List<ScenarioFlag>? Flags { get; set; }
    public List<string>? Profiles { get; set; }
    public List<ScenarioTimeRange>? Inconvenient { get; set; }
    /// <summary>More unrelated parties registered on the account, besides friend and colleague (each a friend with one mobile number).</summary>
    public List<string>? MoreParties { get; set; }
    /// <summary>
    /// The borrower's other debts at the lender, each by the unrelated parties it lists (each a friend with one mobile
    /// number named after it, so a name listed on two debts is the same person).
    /// </summary>
    public List<List<string>>? OtherDebts { get; set; }
}

public sealed class ScenarioFlag
{
    public string Type { get; set; } = "";
    public string? Channel { get; set; }
    public string? Party { get; set; }
    public string? From { get; set; }
    public string? Until { get; set; }
    /// <summary>The own contact point or party number the flag names (mobile, home, ...).</summary>
    public string? Point { get; set; }
    /// <summary>For a consent: the start of the day or time the consumer named.</summary>
    public string? WindowFrom { get; set; }
    /// <summary>"other": the flag is on the borrower's other debt(s), not on the account asked about.</summary>
    public string? Debt { get; set; }
}

public sealed class ScenarioTimeRange
{
    public string From { get; set; } = "";
    public string To { get; set; } = "";
    public List<int> Days { get; set; } = [];
}

public sealed class ScenarioAttempt
{
    public string At { get; set; } = "";
    public string Outcome { get; set; } = "no_answer";
    public string Channel { get; set; } = "voice_call";
    public string To { get; set; } = "mobile";
    public string Account { get; set; } = "A1";
    public string Purpose { get; set; } = "collect_debt";
    public int Repeat { get; set; } = 1;
    public string Every { get; set; } = "01:00:00";
}

public sealed class ScenarioContact
{
    public string At { get; set; } = "";
    public string Channel { get; set; } = "voice_call";
    public string To { get; set; } = "mobile";
    public string Account { get; set; } = "A1";
    public string Purpose { get; set; } = "collect_debt";
    public string Collector { get; set; } = "human";
    public List<string> Zones { get; set; } = [];
    /// <summary>The event at this instant records the validation notice (its timing is judged as late or on time).</summary>
    public bool Notice { get; set; }
}

public sealed class ScenarioExpectation
{
    public bool Allow { get; set; }
    public List<string> DeniedBy { get; set; } = [];
    public List<string> Shadow { get; set; } = [];
    public string? NextAllowedAt { get; set; }
    /// <summary>When given: the rules the validation notice's timing breaks at the contact's instant (12 CFR 1006.34(a)(1)).</summary>
    public List<string>? Timing { get; set; }
    /// <summary>The effective calling window on the evaluated day in the first zone, "11:00-21:00" ("none" when empty).</summary>
    public string? HoursWindow { get; set; }
    /// <summary>The zones the hours were checked in, in order.</summary>
    public List<string>? Zones { get; set; }
}

/// <summary>
/// Turns a scenario into domain objects. Every account has the same registered destinations, named in the files:
/// own points mobile, home, work, other; related parties spouse and attorney; unrelated parties friend (who has a
/// second number, friend-2) and colleague, and those an account names in more_parties; anything else (e.g. "unknown")
/// is a number registered nowhere.
/// </summary>
public static class ScenarioWorld
{
    private static readonly (string Key, ContactPointUse Use)[] OwnPoints =
        [("mobile", ContactPointUse.Mobile), ("home", ContactPointUse.Home), ("work", ContactPointUse.Work), ("other", ContactPointUse.Other)];

    private static readonly (string Key, PartyRole Role)[] PartyKeys =
        [("spouse", PartyRole.Spouse), ("attorney", PartyRole.Attorney), ("friend", PartyRole.Friend), ("colleague", PartyRole.Colleague)];

    public static ScenarioAccount Merge(ScenarioAccount defaults, ScenarioAccount? own) => new()
    {
        Country = own?.Country ?? defaults.Country,
        Region = own?.Region ?? defaults.Region,
        Zone = own?.Zone ?? defaults.Zone,
        Postal = own?.Postal ?? defaults.Postal,
        ZoneConfirmed = own?.ZoneConfirmed ?? defaults.ZoneConfirmed,
        PointZones = own?.PointZones ?? defaults.PointZones,
        Invalid = own?.Invalid ?? defaults.Invalid,
        Flags = own?.Flags ?? defaults.Flags,
        Profiles = own?.Profiles ?? defaults.Profiles,
        Inconvenient = own?.Inconvenient ?? defaults.Inconvenient,
        MoreParties = own?.MoreParties ?? defaults.MoreParties,
        OtherDebts = own?.OtherDebts ?? defaults.OtherDebts,
    };

    /// <summary>The account and the borrower's other debts, when the scenario names any (null otherwise).</summary>
    public static IReadOnlyList<Account>? BorrowerAccounts(ScenarioAccount spec, Account account) =>
        spec.OtherDebts is not { } debts ? null
        : [account, .. debts.Select((parties, i) => account with
        {
            AccountId = $"{account.AccountId}-other-{i + 1}",
            Parties = parties.Select(key => new Party(key, PartyRole.Friend, key, [Point(key, ContactPointUse.Mobile, false)])).ToList(),
            Flags = Flags(spec, other: true),
        })];

    public static Account Account(ScenarioAccount spec, string accountId)
    {
        var invalid = spec.Invalid ?? [];
        var points = OwnPoints.Select(p => Point(p.Key, p.Use, invalid.Contains(p.Key))
            with { TimeZones = spec.PointZones?.GetValueOrDefault(p.Key) ?? [] }).ToList();
        var parties = PartyKeys.Concat((spec.MoreParties ?? []).Select(key => (Key: key, Role: PartyRole.Friend))).Select(p => new Party(p.Key, p.Role, p.Key, p.Key == "friend"
            ? [Point(p.Key, ContactPointUse.Mobile, false), Point("friend-2", ContactPointUse.Work, false)]
            : [Point(p.Key, ContactPointUse.Mobile, false)])).ToList();
        var flags = Flags(spec, other: false);
        var inconvenient = (spec.Inconvenient ?? []).Select(r => new LocalTimeRange(Minutes(r.From), Minutes(r.To), r.Days)).ToList();
        var location = new Location(spec.Country ?? "", spec.Region ?? "", spec.Postal ?? "", spec.Zone ?? "", spec.ZoneConfirmed ?? false);
        return new Account("L1", accountId, "B1", "Borrower", location, points, parties, flags, spec.Profiles ?? [], inconvenient,
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1);
    }

    private static List<Flag> Flags(ScenarioAccount spec, bool other) => (spec.Flags ?? []).Where(f => (f.Debt == "other") == other).Select((f, i) => new Flag(
        $"F{i}",
        Enum<FlagType>(f.Type),
        f.From is null ? DateTimeOffset.MinValue : Instant(f.From),
        f.Until is null ? null : Instant(f.Until),
        f.Channel is null ? Channel.Unspecified : Enum<Channel>(f.Channel),
        f.Party ?? "",
        f.Point ?? "",
        "",
        "scenario",
        null,
        f.WindowFrom is null ? null : Instant(f.WindowFrom))).ToList();

    public static ResolvedDestination Destination(Account account, string key, IReadOnlyList<string> zones)
    {
        if (account.ContactPoints.FirstOrDefault(p => p.ContactPointId == key) is { } own)
        {
            return new ResolvedDestination(DestinationClass.Own, own.ValueHash, own, null, zones.Count > 0 ? zones : own.TimeZones);
        }

        if (account.Parties.FirstOrDefault(p => p.ContactPoints.Any(c => c.ContactPointId == key)) is { } party)
        {
            var cls = party.Related ? DestinationClass.RelatedParty : DestinationClass.UnrelatedParty;
            var point = party.ContactPoints.First(c => c.ContactPointId == key);
            return new ResolvedDestination(cls, point.ValueHash, point, party, zones);
        }

        return new ResolvedDestination(DestinationClass.Unknown, "hash-" + key, null, null, zones);
    }

    public static List<Attempt> History(Account account, IEnumerable<ScenarioAttempt> attempts)
    {
        var history = new List<Attempt>();
        foreach (var a in attempts)
        {
            var destination = Destination(account, a.To, []);
            var start = Instant(a.At);
            var every = TimeSpan.Parse(a.Every, CultureInfo.InvariantCulture);
            for (var i = 0; i < a.Repeat; i++)
            {
                history.Add(new Attempt(start + (every * i), a.Account, "C1", Enum<Channel>(a.Channel), destination.DestinationHash,
                    destination.Class, destination.Party?.PartyId ?? "", destination.ContactPoint?.Use ?? ContactPointUse.Unspecified,
                    Enum<ContactPurpose>(a.Purpose), Enum<AttemptOutcome>(a.Outcome)));
            }
        }

        return history.OrderBy(a => a.At).ToList();
    }

    public static DateTimeOffset Instant(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    public static T Enum<T>(string word) where T : struct, Enum
    {
        var pascal = string.Concat(word.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
        return System.Enum.Parse<T>(pascal);
    }

    private static ContactPoint Point(string key, ContactPointUse use, bool invalid) =>
        new(key, ContactPointKind.Phone, use, "hash-" + key, "***" + key, "", invalid, []);

    private static int Minutes(string hhmm) => RuleKinds.ParseMinutes(hhmm) ?? throw new FormatException(hhmm);
}
