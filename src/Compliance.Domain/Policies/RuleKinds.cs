using System.Globalization;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Policies;

internal enum ParameterType { Integer, Time, Boolean, Word, List }

/// <summary>Which direction of change makes a parameter stricter.</summary>
internal enum Tighten { Never, Lower, Higher, Later, Earlier, Subset, Superset, ToTrue, ToFalse }

internal sealed record ParameterSpec(string Name, ParameterType Type, Tighten Tighten, string? Default, IReadOnlyCollection<string>? Vocabulary = null, int Minimum = 0);

/// <summary>A kind of rule implemented in code, with the parameters a profile gives it.</summary>
internal sealed record RuleKind(string Name, IReadOnlyList<ParameterSpec> Parameters, Func<RuleSetup, RuleCheck> Build)
{
    public ParameterSpec? Find(string name)
    {
        foreach (var p in Parameters)
        {
            if (p.Name == name)
            {
                return p;
            }
        }

        return null;
    }
}

/// <summary>A rule definition with its effective parameter values, ready to compile.</summary>
internal sealed record RuleSetup(RuleDefinition Definition, string ProfileId, IReadOnlyDictionary<string, string> Values, bool Shadow,
    DateTimeOffset? InForceFrom = null)
{
    public int Int(string name) => int.Parse(Values[name], CultureInfo.InvariantCulture);
    public bool Bool(string name) => Values[name] == "true";
    public string Word(string name) => Values[name];
    public int Minutes(string name) => RuleKinds.ParseMinutes(Values[name])!.Value;
    public bool[] Set<T>(string name) where T : struct, Enum => Words.Set<T>(Values[name]);
    public T Enum<T>(string name) where T : struct, Enum => Words.TryParse<T>(Values[name], out var v) ? v : default;

    public bool[] Weekdays(string name)
    {
        var set = new bool[8];
        foreach (var day in Words.List(Values[name]))
        {
            set[Array.IndexOf(RuleKinds.WeekdayNames, day) + 1] = true;
        }

        return set;
    }
}

/// <summary>The fixed set of rule kinds; profiles choose among them and set their parameters.</summary>
internal static class RuleKinds
{
    public static readonly string[] WeekdayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    private static readonly IReadOnlyCollection<string> Channels = Words.All<Channel>();
    private static readonly IReadOnlyCollection<string> Uses = Words.All<ContactPointUse>();
    private static readonly IReadOnlyCollection<string> Outcomes = Words.All<AttemptOutcome>();
    private static readonly IReadOnlyCollection<string> Purposes = Words.All<ContactPurpose>();
    private static readonly IReadOnlyCollection<string> Roles = Words.All<PartyRole>();
    private static readonly IReadOnlyCollection<string> Flags = Words.All<FlagType>();

    private static ParameterSpec Count(string name, Tighten tighten, string? fallback = null, int minimum = 0) => new(name, ParameterType.Integer, tighten, fallback, Minimum: minimum);
    private static ParameterSpec List(string name, Tighten tighten, IReadOnlyCollection<string> words, string? fallback = null) => new(name, ParameterType.List, tighten, fallback, words);
    private static ParameterSpec Flag(string name, Tighten tighten, string fallback) => new(name, ParameterType.Boolean, tighten, fallback);
    private static ParameterSpec Word(string name, IReadOnlyCollection<string> words, string? fallback = null) => new(name, ParameterType.Word, Tighten.Never, fallback, words);

    public static readonly IReadOnlyDictionary<string, RuleKind> All = new Dictionary<string, RuleKind>(StringComparer.Ordinal)
    {
        ["rolling-window-cap"] = new("rolling-window-cap",
        [
            Count("max_attempts", Tighten.Lower),
            Count("window_days", Tighten.Higher),
            List("channels", Tighten.Superset, Channels),
            List("destination_uses", Tighten.Superset, Uses, "unspecified,mobile,home,work,other"),
            Word("count_per", ["debt", "borrower"], "debt"),
            Flag("exclude_consented", Tighten.ToFalse, "true"),
            Word("window", ["calendar_days", "rolling"], "calendar_days"),
            Flag("third_parties_counted", Tighten.ToTrue, "false"),
        ], s => new RollingCapCheck(s)),
        ["wait-after-conversation"] = new("wait-after-conversation",
        [
            Count("days", Tighten.Higher),
            List("channels", Tighten.Superset, Channels, "voice_call"),
            Flag("exclude_consented", Tighten.ToFalse, "true"),
        ], s => new WaitAfterConversationCheck(s)),
        ["daily-cap"] = new("daily-cap",
        [
            Count("max_attempts", Tighten.Lower),
            List("channels", Tighten.Superset, Channels),
            List("outcomes", Tighten.Superset, Outcomes),
            Word("count_per", ["borrower", "debt", "destination"], "borrower"),
        ], s => new DailyCapCheck(s)),
        ["allowed-hours"] = new("allowed-hours",
        [
            new ParameterSpec("start", ParameterType.Time, Tighten.Later, null),
            new ParameterSpec("end", ParameterType.Time, Tighten.Earlier, null),
            List("weekdays", Tighten.Subset, WeekdayNames, string.Join(',', WeekdayNames)),
            List("channels", Tighten.Superset, Channels, "voice_call,sms,email,instant_message,visit"),
            Flag("honour_consent_outside_hours", Tighten.ToFalse, "false"),
            Flag("honour_blocked_dates", Tighten.ToTrue, "true"),
            List("destination_uses", Tighten.Superset, Uses, "unspecified,mobile,home,work,other"),
        ], s => new AllowedHoursCheck(s)),
        ["inconvenient-times"] = new("inconvenient-times",
        [
            List("channels", Tighten.Superset, Channels, "voice_call,sms,email,instant_message,visit"),
        ], s => new InconvenientTimesCheck(s)),
        ["flag-block"] = new("flag-block",
        [
            Word("flag", Flags),
            Word("scope", ["account", "channel", "work_destination"], "account"),
            List("except_purposes", Tighten.Subset, Purposes, ""),
            List("except_party_roles", Tighten.Subset, Roles, ""),
            Flag("across_debts", Tighten.ToTrue, "false"),
        ], s => new FlagBlockCheck(s)),
        ["destination-block"] = new("destination-block",
        [
            List("channels", Tighten.Superset, Channels),
            List("destination_uses", Tighten.Superset, Uses),
        ], s => new DestinationBlockCheck(s)),
        ["third-party"] = new("third-party",
        [
            List("allowed_purposes", Tighten.Subset, Purposes, "locate_borrower,pass_message"),
            Flag("require_lost", Tighten.ToTrue, "false"),
            Count("lost_failed_attempts", Tighten.Higher, "3"),
            Count("lost_wait_hours", Tighten.Higher, "24"),
            Count("lost_unreachable_days", Tighten.Higher, "3"),
        ], s => new ThirdPartyCheck(s)),
        ["third-party-roster"] = new("third-party-roster", [Count("max_parties", Tighten.Lower)], s => new ThirdPartyRosterCheck(s)),
        ["once-per-third-party"] = new("once-per-third-party", [], s => new OncePerThirdPartyCheck(s)),
        ["address-book-blast"] = new("address-book-blast",
        [
            Count("max_third_parties", Tighten.Lower),
            Count("window_hours", Tighten.Higher, minimum: 1),
        ], s => new AddressBookBlastCheck(s)),
        ["inactive-collector"] = new("inactive-collector", [], s => new InactiveCollectorCheck(s)),
        ["validation-notice"] = new("validation-notice",
        [
            Count("days", Tighten.Lower),
            Flag("hold_until_sent", Tighten.ToTrue, "false"),
            List("channels", Tighten.Superset, Channels, "voice_call,sms,email,instant_message,visit"),
            List("purposes", Tighten.Superset, Purposes, "collect_debt"),
        ], s => new ValidationNoticeCheck(s)),
        ["consent-required"] = new("consent-required",
        [
            List("channels", Tighten.Superset, Channels),
            Word("flag", Flags),
        ], s => new ConsentRequiredCheck(s)),
    };

    /// <summary>"08:00" or "24:00" as minutes after midnight, else null.</summary>
    public static int? ParseMinutes(string value)
    {
        var parts = value.Split(':');
        if (parts.Length != 2 || parts[0].Length != 2 || parts[1].Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var m)
            || m > 59 || h > 24 || (h == 24 && m != 0))
        {
            return null;
        }

        return (h * 60) + m;
    }

    /// <summary>Why a value is not valid for the parameter, or null when it is.</summary>
    public static string? Invalid(ParameterSpec spec, string value)
    {
        switch (spec.Type)
        {
            case ParameterType.Integer:
                return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= spec.Minimum
                    ? null : $"expected a whole number >= {spec.Minimum}, got '{value}'";
            case ParameterType.Time:
                return ParseMinutes(value) is null ? $"expected a time HH:MM, got '{value}'" : null;
            case ParameterType.Boolean:
                return value is "true" or "false" ? null : $"expected true or false, got '{value}'";
            case ParameterType.Word:
                return spec.Vocabulary!.Contains(value) ? null : $"expected one of {string.Join(", ", spec.Vocabulary!)}, got '{value}'";
            default:
                foreach (var item in Words.List(value))
                {
                    if (!spec.Vocabulary!.Contains(item))
                    {
                        return $"unknown value '{item}'; expected any of {string.Join(", ", spec.Vocabulary!)}";
                    }
                }

                return null;
        }
    }

    /// <summary>Whether <paramref name="proposed"/> is at least as strict as <paramref name="builtIn"/>.</summary>
    public static bool IsTighterOrEqual(ParameterSpec spec, string builtIn, string proposed) => spec.Tighten switch
    {
        Tighten.Lower => Number(proposed) <= Number(builtIn),
        Tighten.Higher => Number(proposed) >= Number(builtIn),
        Tighten.Later => ParseMinutes(proposed) >= ParseMinutes(builtIn),
        Tighten.Earlier => ParseMinutes(proposed) <= ParseMinutes(builtIn),
        Tighten.Subset => Words.List(proposed).All(Words.List(builtIn).Contains),
        Tighten.Superset => Words.List(builtIn).All(Words.List(proposed).Contains),
        Tighten.ToTrue => proposed == "true" || proposed == builtIn,
        Tighten.ToFalse => proposed == "false" || proposed == builtIn,
        _ => Canonical(proposed) == Canonical(builtIn),
    };

    private static int Number(string value) => int.Parse(value, CultureInfo.InvariantCulture);

    private static string Canonical(string value) => string.Join(',', Words.List(value));
}
