using System.Collections.Concurrent;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Policies;

/// <summary>
/// A lender's policy compiled for the gate: profiles, rules with their effective parameters and shadow state, and
/// blocked dates, fixed at compile time. Immutable and shared by all threads; the request path parses nothing.
/// </summary>
public sealed class CompiledPolicy
{
    /// <summary>How far <see cref="Evaluate"/> searches for the next allowed instant when a time or frequency rule denies.</summary>
    public static readonly TimeSpan SearchHorizon = TimeSpan.FromDays(35);

    private const int MaxSearchSteps = 64;

    private readonly IReadOnlyList<Profile> _profiles;
    private readonly Dictionary<string, RuleCheck[]> _checks;
    private readonly bool _byLocation;
    private readonly IReadOnlyList<string> _include;
    private readonly IReadOnlyList<string> _exclude;
    private readonly BlockedDate[] _blockedDates;
    private readonly ConcurrentDictionary<(string Country, string Region, string Locality), Selection> _byPlace = new();
    private readonly ConcurrentDictionary<string, Selection> _byKey = new(StringComparer.OrdinalIgnoreCase);

    internal CompiledPolicy(
        string version,
        DateTimeOffset effectiveAt,
        IReadOnlyList<Profile> profiles,
        Dictionary<string, RuleCheck[]> checks,
        bool byLocation,
        IReadOnlyList<string> include,
        IReadOnlyList<string> exclude,
        IReadOnlyList<BlockedDate> blockedDates,
        bool keepMessageBodies,
        Events.RiskWeights scoring)
    {
        Version = version;
        EffectiveAt = effectiveAt;
        _profiles = profiles;
        _checks = checks;
        _byLocation = byLocation;
        _include = include;
        _exclude = exclude;
        _blockedDates = blockedDates.ToArray();
        KeepMessageBodies = keepMessageBodies;
        Scoring = scoring;
        var longest = TimeSpan.Zero;
        foreach (var rules in checks.Values)
        {
            foreach (var rule in rules)
            {
                longest = rule.Window > longest ? rule.Window : longest;
            }
        }

        Lookback = longest + TimeSpan.FromDays(1);
    }

    public string Version { get; }

    public DateTimeOffset EffectiveAt { get; }

    /// <summary>How much history <see cref="Evaluate"/> needs for any account: the longest window of any rule, plus a day.</summary>
    public TimeSpan Lookback { get; }

    /// <summary>
    /// How much history judging a contact about this account needs: the longest window of the rules that apply to it,
    /// plus a day. A borrower in New York needs 10 days where the policy's <see cref="Lookback"/> reaches back 33 for
    /// Massachusetts' 30 calendar days.
    /// </summary>
    public TimeSpan LookbackFor(Account account) => Select(account).Lookback;

    /// <summary>
    /// Whether the evidence keeps the full body of each message (the policy's <c>evidence.keep_message_bodies</c>).
    /// Otherwise only the excerpts that content rules matched are kept.
    /// </summary>
    public bool KeepMessageBodies { get; }

    /// <summary>The risk weights of violations: the catalog's, as the policy's <c>scoring</c> changes them.</summary>
    public Events.RiskWeights Scoring { get; }

    /// <summary>The lender's blocked dates.</summary>
    public IReadOnlyList<BlockedDate> BlockedDates => _blockedDates;

    /// <summary>
    /// The profiles that apply to an account: those whose applies_to matches its country or region (when the policy
    /// selects by location, and required profiles always), the policy's includes and the account's explicit profiles,
    /// minus the policy's excludes (which never name a required profile).
    /// Unknown ids on the account are ignored. Catalog order.
    /// </summary>
    public IReadOnlyList<string> ProfilesFor(Account account) => Select(account).Profiles;

    /// <summary>
    /// Whether a contact with a destination of this class needs <see cref="ContactCandidate.BorrowerAccounts"/>: one
    /// with an unrelated party, where a rule that applies to the account counts across the borrower's debts (China's
    /// cap on contacts the borrower supplied).
    /// </summary>
    public bool CountsAcrossDebts(Account account, DestinationClass destination)
    {
        var selection = Select(account);
        return (destination == DestinationClass.UnrelatedParty && selection.CountsAcrossDebts)
            || (selection.ConsumerAcrossDebts && destination is DestinationClass.Own or DestinationClass.RelatedParty);
    }

    /// <summary>
    /// Whether any contact about the account may need <see cref="ContactCandidate.BorrowerAccounts"/> (whatever its
    /// destination), for a caller that loads them before it resolves the destination.
    /// </summary>
    public bool ReadsBorrowerAccounts(Account account)
    {
        var selection = Select(account);
        return selection.CountsAcrossDebts || selection.ConsumerAcrossDebts;
    }

    /// <summary>Whether a validation-notice rule applies to the account (the monitor asks <see cref="ValidationNoticeTiming"/> only then).</summary>
    public bool JudgesValidationNotice(Account account) => Select(account).Notices.Length > 0;

    /// <summary>
    /// The validation-notice rules' findings about the debt at <paramref name="at"/> (12 CFR 1006.34(a)(1)): for the
    /// event that records the notice (<paramref name="atNotice"/>), a notice sent late; for any other event, a notice
    /// missing after its deadline. The history is the borrower's, as for <see cref="Evaluate"/>.
    /// </summary>
    public IReadOnlyList<RuleHit> ValidationNoticeTiming(Account account, IReadOnlyList<Attempt> history, DateTimeOffset at, bool atNotice,
        IReadOnlyList<Account>? borrowerAccounts = null)
    {
        var selection = Select(account);
        if (selection.Notices.Length == 0)
        {
            return [];
        }

        var seen = WrongNumbers.For(account, borrowerAccounts).Apply(history);
        var zones = LocalZones.For(account, new ResolvedDestination(DestinationClass.Own, "", null, null, []));
        List<RuleHit>? hits = null;
        foreach (var check in selection.Notices)
        {
            if (check.Timing(account, seen, zones, at, atNotice) is { } hit)
            {
                (hits ??= []).Add(hit);
            }
        }

        return hits ?? (IReadOnlyList<RuleHit>)[];
    }

    /// <summary>Numbers of the account (and the borrower's other accounts, when given) recorded as not the consumer's.</summary>
    public static WrongNumbers WrongNumbersOf(Account account, IReadOnlyList<Account>? borrowerAccounts) => WrongNumbers.For(account, borrowerAccounts);

    /// <summary>The rules of a profile with their effective parameters (the profile's values as the policy changed them); none for an unknown id.</summary>
    public IReadOnlyList<EffectiveRule> RulesOf(string profileId) =>
        _checks.TryGetValue(profileId, out var checks) ? checks.Select(c => c.Effective).ToList() : [];

    /// <summary>The address-book-blast rules of the profiles that apply to the account, shadow ones included.</summary>
    public IReadOnlyList<BlastLimit> BlastLimitsFor(Account account) => Select(account).Blasts;

    /// <summary>
    /// Decides whether the candidate contact may happen at <c>candidate.At</c>. <paramref name="history"/> is every
    /// attempt of the same borrower (all of the borrower's accounts at this lender) from at least
    /// <c>At - Lookback</c>, in any order; attempts later than <c>At</c> (reservations) are counted by the rolling
    /// caps, so that concurrent reservations cannot overshoot. A caller that needs only the verdict and the rules (the
    /// stream, a preview) passes <paramref name="findNext"/> false and is spared the search for the next allowed time.
    /// </summary>
    public GateResult Evaluate(ContactCandidate candidate, IReadOnlyList<Attempt> history, bool findNext = true)
    {
        var (selection, hits, allowed, next, zones, seen) = Judge(candidate, history, findNext ? SearchHorizon : null);
        var hours = HoursFor(selection, seen, zones, null);
        if (hits is not null && hours is not null)
        {
            // Each hours rule that fired says its own window in the same zones.
            for (var i = 0; i < hits.Count; i++)
            {
                if (hours.RuleIds.Contains(hits[i].RuleId))
                {
                    hits[i] = hits[i] with { Hours = HoursFor(selection, seen, zones, hits[i].RuleId) };
                }
            }
        }

        return new GateResult(allowed, hits ?? (IReadOnlyList<RuleHit>)[], next, selection.Profiles, seen.Destination.Class, Version, hours);
    }

    /// <summary>
    /// The earliest instant at or after <c>candidate.At</c>, within <paramref name="horizon"/>, at which
    /// <see cref="Evaluate"/> would allow the contact; null when a rule denies without end (unknown third party,
    /// cease, attorney, ...) or nothing is allowed within the horizon. The history is taken as it is: attempts not
    /// yet made are not imagined.
    /// </summary>
    public DateTimeOffset? NextAllowed(ContactCandidate candidate, IReadOnlyList<Attempt> history, TimeSpan horizon)
    {
        var (_, _, allowed, next, _, _) = Judge(candidate, history, horizon);
        return allowed ? candidate.At : next;
    }

    /// <summary>
    /// The calling window of the hours rules that judge this contact (only <paramref name="ruleId"/> when given): the
    /// latest opening and earliest closing among them, and the span it holds in every zone at once on the evaluated
    /// day of the first zone, each zone's window taken on that same local date. Null when no hours rule applies.
    /// </summary>
    private static HoursWindow? HoursFor(Selection selection, ContactCandidate candidate, ZoneSet zones, string? ruleId)
    {
        var start = -1;
        var end = int.MaxValue;
        List<string>? rules = null;
        foreach (var check in selection.Checks)
        {
            if (check is AllowedHoursCheck hours && (ruleId is null || hours.RuleId == ruleId) && hours.Applies(candidate, candidate.At))
            {
                start = Math.Max(start, hours.Start);
                end = Math.Min(end, hours.End);
                (rules ??= []).Add(hours.RuleId);
            }
        }

        if (rules is null)
        {
            return null;
        }

        var first = zones.Zones[0];
        var day = DateOnly.FromDateTime(LocalZones.ToLocal(first, candidate.At)).ToDateTime(TimeOnly.MinValue);
        var open = DateTimeOffset.MinValue;
        var close = DateTimeOffset.MaxValue;
        foreach (var zone in zones.Zones)
        {
            var o = LocalZones.ToInstant(zone, day.AddMinutes(start));
            var c = LocalZones.ToInstant(zone, day.AddMinutes(end));
            open = o > open ? o : open;
            close = c < close ? c : close;
        }

        var some = open < close;
        return new HoursWindow(zones.Indicators, start, end, first.Id, some ? open : null, some ? close : null, rules);
    }

    /// <summary>
    /// Runs the rules at <c>candidate.At</c> and, when only time-based rules deny, searches up to the horizon for the next
    /// allowed instant. Numbers recorded as not the consumer's are read as strangers' first, in the history and in the
    /// candidate (<see cref="WrongNumbers"/>); the candidate as the rules saw it is returned.
    /// </summary>
    private (Selection Selection, List<RuleHit>? Hits, bool Allowed, DateTimeOffset? Next, ZoneSet Zones, ContactCandidate Seen) Judge(ContactCandidate candidate,
        IReadOnlyList<Attempt> history, TimeSpan? horizon)
    {
        var selection = Select(candidate.Account);
        var wrong = WrongNumbers.For(candidate.Account, candidate.BorrowerAccounts);
        if (wrong.Any)
        {
            history = wrong.Apply(history);
            candidate = candidate with { Destination = wrong.Apply(candidate.Destination, candidate.At) };
        }

        var zoneSet = LocalZones.Indicators(candidate.Account, candidate.Destination);
        var zones = zoneSet.Zones;
        var hits = Run(selection, candidate, history, zones, candidate.At);
        var allowed = Decide(hits, out var timeOnly, out var earliest);
        var next = !allowed && timeOnly && horizon is { } h ? Search(selection, candidate, history, zones, earliest, candidate.At + h) : null;
        return (selection, hits, allowed, next, zoneSet, candidate);
    }

    /// <summary>
    /// Steps forward to the latest next-allowed instant of the denying rules and re-evaluates there, until every
    /// rule allows. Each step moves strictly forward, so the search ends.
    /// </summary>
    private DateTimeOffset? Search(Selection selection, ContactCandidate candidate, IReadOnlyList<Attempt> history,
        TimeZoneInfo[] zones, DateTimeOffset at, DateTimeOffset limit)
    {
        for (var step = 0; step < MaxSearchSteps && at <= limit; step++)
        {
            var hits = Run(selection, candidate, history, zones, at);
            if (Decide(hits, out var timeOnly, out var next))
            {
                return at;
            }

            if (!timeOnly)
            {
                return null;
            }

            at = next > at ? next : at.AddMinutes(1);
        }

        return null;
    }

    private List<RuleHit>? Run(Selection selection, ContactCandidate candidate, IReadOnlyList<Attempt> history, TimeZoneInfo[] zones, DateTimeOffset at)
    {
        var context = new GateContext(candidate, history, zones, _blockedDates, at);
        List<RuleHit>? hits = null;
        foreach (var check in selection.Checks)
        {
            if (check.InForceFrom is not { } from || at >= from)
            {
                check.Check(in context, ref hits);
            }
        }

        return hits;
    }

    /// <summary>Allowed when no non-shadow rule hit; otherwise reports whether every deny ends, and the latest end.</summary>
    private static bool Decide(List<RuleHit>? hits, out bool timeOnly, out DateTimeOffset latest)
    {
        timeOnly = true;
        latest = DateTimeOffset.MinValue;
        var allowed = true;
        if (hits is null)
        {
            return true;
        }

        foreach (var hit in hits)
        {
            if (hit.Shadow)
            {
                continue;
            }

            allowed = false;
            if (hit.NextAllowedAt is { } next)
            {
                latest = next > latest ? next : latest;
            }
            else
            {
                timeOnly = false;
            }
        }

        return allowed;
    }

    private Selection Select(Account account)
    {
        var location = account.Location;
        var locality = Locality(location.PostalCode);
        if (account.Profiles.Count == 0)
        {
            return _byPlace.GetOrAdd((location.CountryCode, location.Region, locality), static (key, self) => self.Build(key.Country, key.Region, key.Locality, []), this);
        }

        var cacheKey = $"{location.CountryCode}|{location.Region}|{locality}|{string.Join(',', account.Profiles)}";
        return _byKey.GetOrAdd(cacheKey, static (_, state) => state.self.Build(state.CountryCode, state.Region, state.locality, state.Profiles),
            (self: this, location.CountryCode, location.Region, locality, account.Profiles));
    }

    /// <summary>
    /// The postal-code prefixes of the catalog's localities that a postal code starts with, joined: the part of a
    /// postal code that selects profiles, so that the selection cache holds one entry per locality, not per code.
    /// </summary>
    private string Locality(string postalCode)
    {
        if (postalCode.Length == 0)
        {
            return "";
        }

        var compact = Compact(postalCode);
        List<string>? matched = null;
        foreach (var profile in _profiles)
        {
            foreach (var prefix in profile.PostalCodes ?? [])
            {
                if (compact.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    (matched ??= []).Add(prefix);
                }
            }
        }

        return matched is null ? "" : string.Join(',', matched);
    }

    /// <summary>A postal code's letters and digits, so that "10001-1234" and "10001 1234" read alike.</summary>
    private static string Compact(string postalCode) => new(postalCode.Where(char.IsAsciiLetterOrDigit).ToArray());

    private Selection Build(string country, string region, string locality, IReadOnlyList<string> explicitProfiles)
    {
        var ids = new List<string>();
        var checks = new List<RuleCheck>();
        foreach (var profile in _profiles)
        {
            var chosen = ((_byLocation || profile.Required) && Matches(profile, country, region, locality))
                || Contains(_include, profile.Id) || Contains(explicitProfiles, profile.Id);
            if (chosen && !Contains(_exclude, profile.Id))
            {
                ids.Add(profile.Id);
                checks.AddRange(_checks[profile.Id]);
            }
        }

        var longest = TimeSpan.Zero;
        foreach (var check in checks)
        {
            longest = check.Window > longest ? check.Window : longest;
        }

        return new Selection(ids.ToArray(), checks.ToArray(), checks.OfType<AddressBookBlastCheck>().Select(c => c.Limit).ToArray(),
            checks.OfType<ThirdPartyRosterCheck>().Any(), checks.OfType<FlagBlockCheck>().Any(c => c.AcrossDebts),
            checks.OfType<ValidationNoticeCheck>().ToArray(), longest + TimeSpan.FromDays(1));
    }

    private static bool Matches(Profile profile, string country, string region, string locality)
    {
        if (profile.PostalCodes is { } codes
            && !codes.Any(c => locality.Split(',').Contains(c, StringComparer.OrdinalIgnoreCase)))
        {
            return false;
        }

        foreach (var place in profile.AppliesTo)
        {
            if (place == "*" || (country.Length > 0 && string.Equals(place, country, StringComparison.OrdinalIgnoreCase))
                || (region.Length > 0 && string.Equals(place, region, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(IReadOnlyList<string> list, string id) => list.Any(x => string.Equals(x, id, StringComparison.OrdinalIgnoreCase));

    /// <param name="CountsAcrossDebts">A rule counts the unrelated parties of all the borrower's accounts (CN roster).</param>
    /// <param name="ConsumerAcrossDebts">A rule reads the consumer's requests on all the borrower's accounts (US medium opt-out).</param>
    /// <param name="Lookback">The longest window of <paramref name="Checks"/>, plus a day.</param>
    private sealed record Selection(string[] Profiles, RuleCheck[] Checks, BlastLimit[] Blasts, bool CountsAcrossDebts, bool ConsumerAcrossDebts,
        ValidationNoticeCheck[] Notices, TimeSpan Lookback);
}

/// <summary>A rule as a compiled policy applies it: its kind, citation, shadow state and effective parameter values.</summary>
public sealed record EffectiveRule(string RuleId, string Profile, string Kind, string Citation, bool Shadow, IReadOnlyDictionary<string, string> Parameters);
