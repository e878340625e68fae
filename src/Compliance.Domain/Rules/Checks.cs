using Compliance.Domain.Policies;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Rules;

/// <summary>Everything one evaluation looks at. <see cref="At"/> is the instant evaluated (the search moves it).</summary>
internal readonly struct GateContext(
    ContactCandidate candidate,
    IReadOnlyList<Attempt> history,
    TimeZoneInfo[] zones,
    BlockedDate[] blockedDates,
    DateTimeOffset at)
{
    public ContactCandidate Candidate { get; } = candidate;
    public IReadOnlyList<Attempt> History { get; } = history;
    public TimeZoneInfo[] Zones { get; } = zones;
    public BlockedDate[] BlockedDates { get; } = blockedDates;
    public DateTimeOffset At { get; } = at;
    public Account Account => Candidate.Account;
    public ResolvedDestination Destination => Candidate.Destination;

    public bool IsConsumer => Destination.Class is DestinationClass.Own or DestinationClass.RelatedParty;

    /// <summary>Whether a flag of the type, for the channel (or for every channel), is in force at the instant.</summary>
    public bool FlagInForce(FlagType type, Channel channel, DateTimeOffset at)
    {
        var flags = Account.Flags;
        for (var i = 0; i < flags.Count; i++)
        {
            var f = flags[i];
            if (f.Type == type && (f.Channel == Channel.Unspecified || f.Channel == channel) && f.InForceAt(at))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a flag of the type naming this party (or this contact point) is in force.</summary>
    public bool PartyFlagInForce(FlagType type)
    {
        var flags = Account.Flags;
        var party = Destination.Party?.PartyId ?? "";
        var point = Destination.ContactPoint?.ContactPointId ?? "";
        for (var i = 0; i < flags.Count; i++)
        {
            var f = flags[i];
            if (f.Type == type && f.InForceAt(At)
                && ((f.PartyId.Length > 0 && f.PartyId == party) || (f.ContactPointId.Length > 0 && f.ContactPointId == point)))
            {
                return true;
            }
        }

        return false;
    }

    public bool IsBlocked(DateOnly date, out string reason)
    {
        foreach (var blocked in BlockedDates)
        {
            if (blocked.Date == date && blocked.AppliesTo(Account.Location))
            {
                reason = blocked.Reason;
                return true;
            }
        }

        reason = "";
        return false;
    }
}

/// <summary>One compiled rule: its identity and parameters fixed, ready to check a contact.</summary>
internal abstract class RuleCheck(RuleSetup setup)
{
    public string RuleId { get; } = setup.Definition.Id;
    public string Profile { get; } = setup.ProfileId;
    public string Citation { get; } = setup.Definition.Citation;
    public Severity Severity { get; } = setup.Definition.Severity;
    public bool Shadow { get; } = setup.Shadow;

    /// <summary>The rule as the policy sets it: kind and effective parameters (for reports that quote the limits).</summary>
    public Policies.EffectiveRule Effective { get; } = new(setup.Definition.Id, setup.ProfileId, setup.Definition.Kind, setup.Definition.Citation, setup.Shadow, setup.Values);

    /// <summary>When the rule took effect (its profile's <c>in_force_from</c>); a contact before it is not judged by it.</summary>
    public DateTimeOffset? InForceFrom { get; } = setup.InForceFrom;

    /// <summary>Longest history this rule looks back over.</summary>
    public virtual TimeSpan Window => TimeSpan.Zero;

    public abstract void Check(in GateContext context, ref List<RuleHit>? hits);

    protected void Hit(ref List<RuleHit>? hits, string message, DateTimeOffset? nextAllowedAt, Severity? severity = null) =>
        (hits ??= new List<RuleHit>(4)).Add(new RuleHit(RuleId, Profile, Citation, message, Shadow, severity ?? Severity, nextAllowedAt));

    protected static string ChannelWord(Channel channel) => Words.Of(channel);

    /// <summary>Whether a flag of the type, for the channel (or for every channel), is in force on the account at the instant.</summary>
    protected static bool FlagInForce(Account account, FlagType type, Channel channel, DateTimeOffset at)
    {
        foreach (var f in account.Flags)
        {
            if (f.Type == type && (f.Channel == Channel.Unspecified || f.Channel == channel) && f.InForceAt(at))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Set membership that treats values unknown to this build (a newer client's enum) as not listed.</summary>
    protected static bool Has(bool[] set, int value) => (uint)value < (uint)set.Length && set[value];
}

/// <summary>
/// At most N counted attempts to a person about the debt within a window of days (US caps). With
/// <c>window: calendar_days</c> the window is any run of N consecutive calendar days in the person's local zone (the
/// day of the first counted call is day 1; on day N+1 calls resume from the start of the day), as 12 CFR
/// 1006.14(b)(2)(i) counts; with <c>rolling</c> it is any span of N x 24 hours. With <c>third_parties_counted</c>
/// each third party is a person of its own with its own count ("a particular person", 1006.14(b)(2)); otherwise the
/// rule protects only the consumer (own points and related parties, counted together). Calls to the consumer's
/// attorney are not counted nor capped (1006.14(b)(3)(iii)).
/// </summary>
internal sealed class RollingCapCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly int _max = setup.Int("max_attempts");
    private readonly int _days = setup.Int("window_days");
    private readonly TimeSpan _window = TimeSpan.FromDays(setup.Int("window_days"));
    private readonly bool _calendar = setup.Word("window") == "calendar_days";
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly bool[] _uses = setup.Set<ContactPointUse>("destination_uses");
    private readonly bool _perDebt = setup.Word("count_per") == "debt";
    private readonly bool _excludeConsented = setup.Bool("exclude_consented");
    private readonly bool _thirdParties = setup.Bool("third_parties_counted");

    // What Counts counts for the consumer, as far as the attempt alone tells (placed calls, not those that never
    // connected, nor call-ins); the debt is added per contact.
    private readonly CountKey _key = new(CountKey.Mask(setup.Set<Channel>("channels")), CountKey.Mask(setup.Set<ContactPointUse>("destination_uses")),
        CountKey.Any & ~CountKey.Mask(AttemptOutcome.NotConnected, AttemptOutcome.Inbound, AttemptOutcome.InboundConversation), CountKey.Consumer, null, null);

    /// <summary>
    /// Calendar windows reach back N local days from the start of the day, which across zones (up to 26 hours apart)
    /// is at most N + 2 days before the instant.
    /// </summary>
    public override TimeSpan Window => _calendar ? TimeSpan.FromDays(_days + 2) : _window;

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var candidate = context.Candidate;
        var destination = context.Destination;
        if (!Has(_channels, (int)candidate.Channel) || (!context.IsConsumer && !_thirdParties)
            || destination.Party?.Role == PartyRole.Attorney
            || !Has(_uses, (int)(destination.ContactPoint?.Use ?? ContactPointUse.Unspecified))
            || (_excludeConsented && context.IsConsumer && Consent.Covers(context, context.Account.AccountId, candidate.Channel, context.At)))
        {
            return;
        }

        if (_calendar)
        {
            CheckCalendar(context, ref hits);
            return;
        }

        var from = context.At - _window;
        var to = context.At + _window;
        var history = context.History;
        if (CountedTimes(context) is { } counted)
        {
            // The counted attempts' instants, kept by the window: the count in (from, to) is two binary searches.
            var lo = counted.UpperBound(from);
            var count = counted.LowerBound(to) - lo;
            if (count >= _max)
            {
                RollingHit(context, ref hits, count, _max == 0 ? default : counted[lo + count - _max]);
            }

            return;
        }

        var (first, last) = TimeOrdered.Range(history, from, to);
        var found = 0;
        for (var i = first; i < last; i++)
        {
            if (history[i].At > from && history[i].At < to && Counts(context, history[i]))
            {
                found++;
            }
        }

        if (found < _max)
        {
            return;
        }

        var times = new List<DateTimeOffset>(found);
        for (var i = first; i < last && _max > 0; i++)
        {
            var a = history[i];
            if (a.At > from && a.At < to && Counts(context, a))
            {
                times.Add(a.At);
            }
        }

        times.Sort();
        RollingHit(context, ref hits, found, _max == 0 ? default : times[found - _max]);
    }

    /// <summary>
    /// The counted attempts' instants as the window keeps them, where the history is such a window and what counts
    /// depends on the attempts alone: to the consumer, on an account with no attorney party, and (when consented calls
    /// are left out) no consent flag. Otherwise null, and the rule reads the attempts.
    /// </summary>
    private SortedTimes? CountedTimes(in GateContext context)
    {
        if (context.History is not ICountedAttempts counted || !context.IsConsumer || HasAttorney(context.Account)
            || (_excludeConsented && HasConsent(context.Account)))
        {
            return null;
        }

        return counted.Counted(_perDebt ? _key with { AccountId = context.Account.AccountId } : _key);
    }

    /// <summary>
    /// The cap's hit for <paramref name="count"/> counted attempts in the rolling window, at least the cap's worth;
    /// <paramref name="nth"/> is the counted attempt whose sliding out of the window frees it up.
    /// </summary>
    private void RollingHit(in GateContext context, ref List<RuleHit>? hits, int count, DateTimeOffset nth)
    {
        var candidate = context.Candidate;
        if (_max == 0)
        {
            Hit(ref hits, $"the lender's policy allows no {Words.Of(candidate.Channel)} of this kind", null);
            return;
        }

        // The window frees up when enough of the oldest counted attempts have slid out of it.
        var next = nth + _window;
        Hit(ref hits,
            $"{count} counted attempts to this person {(_perDebt ? "about this debt " : "")}in the last {_window.TotalDays:0} x 24 hours; the cap is {_max}",
            next > context.At ? next : context.At.AddMinutes(1));
    }

    /// <summary>
    /// Denies when some run of N consecutive local days that holds the instant's day already has the cap's worth of
    /// counted attempts (later days too: reservations racing this one), in any of the person's possible zones; allowed
    /// again from the start of the first later day for which no such run is full, in every zone.
    /// </summary>
    private void CheckCalendar(in GateContext context, ref List<RuleHit>? hits)
    {
        if (_max == 0)
        {
            Hit(ref hits, $"the lender's policy allows no {Words.Of(context.Candidate.Channel)} of this kind", null);
            return;
        }

        DateTimeOffset? next = null;
        string? message = null;
        var counted = CountedTimes(context);
        foreach (var zone in context.Zones)
        {
            var today = DateOnly.FromDateTime(LocalZones.ToLocal(zone, context.At));
            var perDay = counted is { } times ? PerDay(times, zone, context.At, today) : PerDay(context, zone, today);
            if (FullRun(perDay, today) is not { } run)
            {
                continue;
            }

            var free = today.AddDays(1);
            while (FullRun(perDay, free) is not null)
            {
                free = free.AddDays(1);
            }

            var opens = LocalZones.StartOfDay(zone, free);
            next = next is null || opens > next ? opens : next;
            message ??= $"{run.Count} counted calls to this person {(_perDebt ? "about this debt " : "")}in the {_days} consecutive local days "
                + $"{run.First:yyyy-MM-dd} to {run.First.AddDays(_days - 1):yyyy-MM-dd}; the cap is {_max}; day {_days + 1} is {run.First.AddDays(_days):yyyy-MM-dd}";
        }

        if (message is not null)
        {
            Hit(ref hits, message, next);
        }
    }

    /// <summary>Counted attempts per local day, for the days after today - N (later days, reservations, too), read from the history.</summary>
    private Dictionary<DateOnly, int> PerDay(in GateContext context, TimeZoneInfo zone, DateOnly today)
    {
        var perDay = new Dictionary<DateOnly, int>();
        var history = context.History;
        // Local days after today - N start after At - Window, in any zone; later days (reservations) count too.
        var (first, last) = TimeOrdered.Range(history, context.At - Window, DateTimeOffset.MaxValue);
        for (var i = first; i < last; i++)
        {
            var a = history[i];
            // Whether it counts first: a text is no call, and converting every attempt's time to local was most of a call's cost.
            if (!Counts(context, a))
            {
                continue;
            }

            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, a.At));
            if (day.DayNumber > today.DayNumber - _days)
            {
                perDay[day] = perDay.GetValueOrDefault(day) + 1;
            }
        }

        return perDay;
    }

    /// <summary>
    /// The same from the counted attempts' instants: each local day's attempts are a run of them, its end found by
    /// binary search on the local day, so the cost is a few conversions per day that has calls, not one per call.
    /// </summary>
    private Dictionary<DateOnly, int> PerDay(SortedTimes times, TimeZoneInfo zone, DateTimeOffset at, DateOnly today)
    {
        var perDay = new Dictionary<DateOnly, int>();
        for (var i = times.LowerBound(at - Window); i < times.Count;)
        {
            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, times[i]));
            // The first later instant on a later local day (local days follow the instants).
            int lo = i + 1, hi = times.Count;
            while (lo < hi)
            {
                var mid = (int)((uint)(lo + hi) >> 1);
                if (DateOnly.FromDateTime(LocalZones.ToLocal(zone, times[mid])) <= day)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            if (day.DayNumber > today.DayNumber - _days)
            {
                perDay[day] = lo - i;
            }

            i = lo;
        }

        return perDay;
    }

    /// <summary>The first run of N consecutive days holding <paramref name="day"/> that is full, with its count.</summary>
    private (DateOnly First, int Count)? FullRun(Dictionary<DateOnly, int> perDay, DateOnly day)
    {
        for (var first = day.AddDays(1 - _days); first <= day; first = first.AddDays(1))
        {
            var count = 0;
            for (var d = 0; d < _days; d++)
            {
                count += perDay.GetValueOrDefault(first.AddDays(d));
            }

            if (count >= _max)
            {
                return (first, count);
            }
        }

        return null;
    }

    /// <summary>Whether an attempt counts against the person this contact is with.</summary>
    private bool Counts(in GateContext context, in Attempt a)
    {
        // Calls that never connected, and call-ins (the consumer placed them), are no placed calls.
        if (!Has(_channels, (int)a.Channel) || !Has(_uses, (int)a.DestinationUse) || a.Outcome == AttemptOutcome.NotConnected || a.Outcome.IsInbound()
            || (_perDebt && a.AccountId != context.Account.AccountId))
        {
            return false;
        }

        if (!context.IsConsumer)
        {
            // A third party is a person of its own: its party, else its number.
            var party = context.Destination.Party?.PartyId ?? "";
            return a.DestinationClass is not (DestinationClass.Own or DestinationClass.RelatedParty)
                && ((party.Length > 0 && a.PartyId == party) || a.DestinationHash == context.Destination.DestinationHash);
        }

        return a.DestinationClass is DestinationClass.Own or DestinationClass.RelatedParty
            && !IsAttorney(context.Account, a.PartyId)
            && !(_excludeConsented && Consent.Covers(context, a.AccountId, a.Channel, a.At));
    }

    private static bool HasAttorney(Account account)
    {
        foreach (var party in account.Parties)
        {
            if (party.Role == PartyRole.Attorney)
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasConsent(Account account)
    {
        foreach (var f in account.Flags)
        {
            if (f.Type == FlagType.ConsentToContact)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsAttorney(Account account, string partyId)
    {
        if (partyId.Length == 0)
        {
            return false;
        }

        foreach (var party in account.Parties)
        {
            if (party.PartyId == partyId)
            {
                return party.Role == PartyRole.Attorney;
            }
        }

        return false;
    }
}

/// <summary>No contact within N local days after a conversation about the debt, the conversation's day being day 1.</summary>
internal sealed class WaitAfterConversationCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly int _days = setup.Int("days");
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly bool _excludeConsented = setup.Bool("exclude_consented");

    // Conversations with the consumer by the rule's channels; the debt is added per contact.
    private readonly CountKey _key = new(CountKey.Mask(setup.Set<Channel>("channels")), CountKey.Any,
        CountKey.Mask(AttemptOutcome.Conversation, AttemptOutcome.InboundConversation), CountKey.Consumer, null, null);

    /// <summary>N local days back from the start of the day, across zones up to 26 hours apart.</summary>
    public override TimeSpan Window => TimeSpan.FromDays(_days + 2);

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        if (!Has(_channels, (int)context.Candidate.Channel) || !context.IsConsumer
            || (_excludeConsented && Consent.Covers(context, context.Account.AccountId, context.Candidate.Channel, context.At)))
        {
            return;
        }

        DateTimeOffset? latest = null;
        var from = context.At - Window;
        var history = context.History;
        if (history is ICountedAttempts counted)
        {
            // The latest conversation at or before the instant, as the window keeps them: one binary search.
            var times = counted.Counted(_key with { AccountId = context.Account.AccountId });
            var last = times.UpperBound(context.At);
            latest = last > 0 && times[last - 1] > from ? times[last - 1] : null;
        }

        var (first, end) = history is ICountedAttempts ? (0, 0) : TimeOrdered.Range(history, from, context.At);
        for (var i = first; i < end; i++)
        {
            var a = history[i];
            if (a.Outcome.IsConversation() && a.At > from && a.At <= context.At && Has(_channels, (int)a.Channel)
                && a.DestinationClass is DestinationClass.Own or DestinationClass.RelatedParty
                && a.AccountId == context.Account.AccountId && (latest is null || a.At > latest))
            {
                latest = a.At;
            }
        }

        if (latest is not { } conversation)
        {
            return;
        }

        var next = DateTimeOffset.MinValue;
        foreach (var zone in context.Zones)
        {
            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, conversation));
            var start = LocalZones.StartOfDay(zone, day.AddDays(_days));
            if (start > next)
            {
                next = start;
            }
        }

        if (context.At < next)
        {
            Hit(ref hits,
                $"a conversation about this debt took place on {LocalZones.ToLocal(context.Zones[0], conversation):yyyy-MM-dd}; no call until local day {_days + 1}",
                next);
        }
    }
}

/// <summary>
/// At most N counted contacts per calendar day in the borrower's local zone (CN caps). Which outcomes count is a
/// parameter; the built-in caps count pending attempts, because a reserved call may still connect (effective
/// calls) or go unanswered, and counting it keeps concurrent reservations from overshooting the cap.
/// </summary>
internal sealed class DailyCapCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly int _max = setup.Int("max_attempts");
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly bool[] _outcomes = setup.Set<AttemptOutcome>("outcomes");
    private readonly bool _perDestination = setup.Word("count_per") == "destination";
    private readonly bool _perDebt = setup.Word("count_per") == "debt";

    // What Count counts, as far as the attempt alone tells; the number or the debt is added per contact.
    private readonly CountKey _key = new(CountKey.Mask(setup.Set<Channel>("channels")), CountKey.Any, CountKey.Mask(setup.Set<AttemptOutcome>("outcomes")),
        setup.Word("count_per") == "destination" ? CountKey.Any : CountKey.Consumer, null, null);

    public override TimeSpan Window => TimeSpan.FromDays(2);

    private string Scope => _perDestination ? "to this number" : _perDebt ? "about this debt" : "to this debtor across all debts";

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        if (!Has(_channels, (int)context.Candidate.Channel) || (!_perDestination && !context.IsConsumer))
        {
            return;
        }

        DateTimeOffset? next = null;
        var worst = 0;
        foreach (var zone in context.Zones)
        {
            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, context.At));
            var start = LocalZones.StartOfDay(zone, day);
            var end = LocalZones.StartOfDay(zone, day.AddDays(1));
            var count = Count(context, start, end);
            if (count >= _max)
            {
                worst = Math.Max(worst, count);
                next = next is null || end > next ? end : next;
            }
        }

        if (next is not null && _max == 0)
        {
            Hit(ref hits, $"the lender's policy allows no {Words.Of(context.Candidate.Channel)} of this kind", null);
        }
        else if (next is not null)
        {
            Hit(ref hits, $"{worst} counted contacts {Scope} this local day; the cap is {_max} a day", next);
        }
    }

    private int Count(in GateContext context, DateTimeOffset start, DateTimeOffset end)
    {
        var history = context.History;
        if (history is ICountedAttempts counted)
        {
            // The counted attempts' instants, as the window keeps them: the count in [start, end) is two binary searches.
            var times = counted.Counted(_perDestination ? _key with { DestinationHash = context.Destination.DestinationHash }
                : _perDebt ? _key with { AccountId = context.Account.AccountId } : _key);
            return times.LowerBound(end) - times.LowerBound(start);
        }

        var count = 0;
        var (first, last) = TimeOrdered.Range(history, start, end);
        for (var i = first; i < last; i++)
        {
            var a = history[i];
            if (a.At < start || a.At >= end || !Has(_channels, (int)a.Channel) || !Has(_outcomes, (int)a.Outcome))
            {
                continue;
            }

            var match = _perDestination
                ? a.DestinationHash == context.Destination.DestinationHash
                : a.DestinationClass is DestinationClass.Own or DestinationClass.RelatedParty
                  && (!_perDebt || a.AccountId == context.Account.AccountId);
            if (match)
            {
                count++;
            }
        }

        return count;
    }
}

/// <summary>Contact only between local start and end times on allowed weekdays and dates, in every possible zone.</summary>
internal sealed class AllowedHoursCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly int _start = setup.Minutes("start");
    private readonly int _end = setup.Minutes("end");
    private readonly bool[] _weekdays = setup.Weekdays("weekdays");
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly bool _honourConsent = setup.Bool("honour_consent_outside_hours");
    private readonly bool _honourBlocked = setup.Bool("honour_blocked_dates");
    private readonly bool[] _uses = setup.Set<ContactPointUse>("destination_uses");

    /// <summary>Opening time, minutes after local midnight.</summary>
    public int Start => _start;

    /// <summary>Closing time, minutes after local midnight.</summary>
    public int End => _end;

    /// <summary>Whether the rule judges this contact at the instant (its channel and destination, no consent to other hours).</summary>
    public bool Applies(ContactCandidate candidate, DateTimeOffset at)
    {
        var channel = candidate.Channel;
        return Has(_channels, (int)channel) && Has(_uses, (int)(candidate.Destination.ContactPoint?.Use ?? ContactPointUse.Unspecified))
            && !(_honourConsent && FlagInForce(candidate.Account, FlagType.ConsentOutsideHours, channel, at))
            && (InForceFrom is not { } from || at >= from);
    }

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        if (!Applies(context.Candidate, context.At))
        {
            return;
        }

        var channel = context.Candidate.Channel;

        DateTimeOffset? next = null;
        string? reason = null;
        foreach (var zone in context.Zones)
        {
            var local = LocalZones.ToLocal(zone, context.At);
            var why = Closed(context, local);
            if (why is null)
            {
                continue;
            }

            reason ??= $"{local:yyyy-MM-dd HH:mm} in {zone.Id}: {why}";
            var opening = NextOpening(context, zone, local);
            if (opening is null)
            {
                next = null;
                break;
            }

            next = next is null || opening > next ? opening : next;
        }

        if (reason is not null)
        {
            Hit(ref hits, reason, next);
        }
    }

    private string? Closed(in GateContext context, DateTime local)
    {
        if (!_weekdays[LocalZones.IsoWeekday(local)])
        {
            return $"no contact on {local.DayOfWeek}s";
        }

        if (_honourBlocked && context.IsBlocked(DateOnly.FromDateTime(local), out var reason))
        {
            return $"blocked date ({reason})";
        }

        var minute = (local.Hour * 60) + local.Minute;
        return minute >= _start && minute < _end ? null : $"outside {Clock(_start)}-{Clock(_end)} local time";
    }

    private DateTimeOffset? NextOpening(in GateContext context, TimeZoneInfo zone, DateTime local)
    {
        var day = DateOnly.FromDateTime(local);
        for (var d = 0; d < 15; d++, day = day.AddDays(1))
        {
            var midnight = day.ToDateTime(TimeOnly.MinValue);
            if (!_weekdays[LocalZones.IsoWeekday(midnight)] || (_honourBlocked && context.IsBlocked(day, out _)))
            {
                continue;
            }

            var open = LocalZones.ToInstant(zone, midnight.AddMinutes(_start));
            var close = LocalZones.ToInstant(zone, midnight.AddMinutes(_end));
            if (context.At < open)
            {
                return open;
            }

            if (context.At < close)
            {
                return context.At.AddMinutes(1);
            }
        }

        return null;
    }

    private static string Clock(int minutes) => $"{minutes / 60:00}:{minutes % 60:00}";
}

/// <summary>No contact at times the consumer named as inconvenient.</summary>
internal sealed class InconvenientTimesCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly bool[] _channels = setup.Set<Channel>("channels");

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var ranges = context.Account.InconvenientTimes;
        if (ranges.Count == 0 || !Has(_channels, (int)context.Candidate.Channel) || !context.IsConsumer)
        {
            return;
        }

        DateTimeOffset? next = null;
        foreach (var zone in context.Zones)
        {
            var local = LocalZones.ToLocal(zone, context.At);
            var minute = (local.Hour * 60) + local.Minute;
            foreach (var range in ranges)
            {
                var wraps = range.EndMinute <= range.StartMinute;
                var inside = wraps ? minute >= range.StartMinute || minute < range.EndMinute
                                   : minute >= range.StartMinute && minute < range.EndMinute;
                // A range that wraps past midnight belongs to the weekday it starts on.
                var startDay = wraps && minute < range.EndMinute ? local.AddDays(-1) : local;
                if (!inside || (range.Weekdays.Count > 0 && !range.Weekdays.Contains(LocalZones.IsoWeekday(startDay))))
                {
                    continue;
                }

                var endDate = wraps && minute >= range.StartMinute ? local.Date.AddDays(1) : local.Date;
                var end = LocalZones.ToInstant(zone, endDate.AddMinutes(range.EndMinute));
                next = next is null || end > next ? end : next;
            }
        }

        if (next is not null)
        {
            Hit(ref hits, "the consumer named this time as inconvenient", next > context.At ? next : context.At.AddMinutes(1));
        }
    }
}

/// <summary>A flag in force stops contact (attorney, cease, bankruptcy, legal hold, medium opt-out, workplace).</summary>
internal sealed class FlagBlockCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly FlagType _flag = setup.Enum<FlagType>("flag");
    private readonly string _scope = setup.Word("scope");
    private readonly bool[] _exceptPurposes = setup.Set<ContactPurpose>("except_purposes");
    private readonly bool[] _exceptRoles = setup.Set<PartyRole>("except_party_roles");
    private readonly bool _acrossDebts = setup.Bool("across_debts");

    /// <summary>Whether the flag belongs to the consumer: set on any of the borrower's debts, it applies to all of them.</summary>
    public bool AcrossDebts => _acrossDebts;

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var candidate = context.Candidate;
        var destination = context.Destination;
        if (Has(_exceptPurposes, (int)candidate.Purpose) || (destination.Party is { } party && Has(_exceptRoles, (int)party.Role)))
        {
            return;
        }

        if (Blocks(context, context.Account, hits: ref hits))
        {
            return;
        }

        // A consumer's request applies to every debt of that consumer at the lender (commentary 14(h)-3.ii): the
        // borrower's other accounts' flags, matched by the number or address itself (contact point ids are per account).
        if (_acrossDebts && context.IsConsumer && candidate.BorrowerAccounts is { } others)
        {
            foreach (var other in others)
            {
                if (!string.Equals(other.AccountId, context.Account.AccountId, StringComparison.Ordinal) && Blocks(context, other, ref hits))
                {
                    return;
                }
            }
        }
    }

    private bool Blocks(in GateContext context, Account account, ref List<RuleHit>? hits)
    {
        var candidate = context.Candidate;
        var own = ReferenceEquals(account, context.Account);
        foreach (var f in account.Flags)
        {
            if (f.Type != _flag || !f.InForceAt(context.At) || !(own ? Matches(f, candidate, context.Destination) : MatchesOther(f, account, candidate, context.Destination)))
            {
                continue;
            }

            var message = _scope switch
            {
                "channel" => $"{Words.Of(_flag)} in force for {ChannelWord(candidate.Channel)}",
                "work_destination" => $"{Words.Of(_flag)} in force and the destination is a work number or address",
                _ => $"{Words.Of(_flag)} in force since {f.EffectiveFrom:yyyy-MM-dd}",
            };
            Hit(ref hits, own ? message : $"{message} (the consumer's request, recorded on account {account.AccountId}, applies to every debt)", null);
            return true;
        }

        return false;
    }

    /// <summary>A flag of another of the borrower's accounts: about the consumer (no party), naming the same number or address if any.</summary>
    private bool MatchesOther(Flag f, Account account, ContactCandidate candidate, ResolvedDestination destination)
    {
        if (f.PartyId.Length > 0)
        {
            return false;
        }

        if (f.ContactPointId.Length > 0
            && !account.AllContactPoints().Any(c => c.Point.ContactPointId == f.ContactPointId && c.Point.ValueHash == destination.DestinationHash))
        {
            return false;
        }

        return _scope switch
        {
            "channel" => f.Channel == Channel.Unspecified || f.Channel == candidate.Channel,
            "work_destination" => destination.ContactPoint?.Use == ContactPointUse.Work,
            _ => true,
        };
    }

    private bool Matches(Flag f, ContactCandidate candidate, ResolvedDestination destination)
    {
        var party = f.PartyId.Length == 0 || f.PartyId == destination.Party?.PartyId;
        var point = f.ContactPointId.Length == 0 || f.ContactPointId == destination.ContactPoint?.ContactPointId;
        return _scope switch
        {
            "channel" => party && point && (f.Channel == Channel.Unspecified || f.Channel == candidate.Channel),
            "work_destination" => party && point && destination.ContactPoint?.Use == ContactPointUse.Work,
            _ => true,
        };
    }
}

/// <summary>Some channels may never be used to some kinds of destination (e-mail to a work address).</summary>
internal sealed class DestinationBlockCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly bool[] _uses = setup.Set<ContactPointUse>("destination_uses");

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var channel = context.Candidate.Channel;
        if (context.Destination.ContactPoint is { } point && Has(_channels, (int)channel) && Has(_uses, (int)point.Use))
        {
            Hit(ref hits, $"no {Words.Of(channel)} to a {Words.Of(point.Use)} destination", null);
        }
    }
}

/// <summary>Only active collectors contact borrowers (a deactivated agency's dialer is stopped at the gate).</summary>
internal sealed class InactiveCollectorCheck(RuleSetup setup) : RuleCheck(setup)
{
    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        if (!context.Candidate.CollectorActive)
        {
            Hit(ref hits, $"collector '{context.Candidate.CollectorId}' is inactive", null);
        }
    }
}

/// <summary>
/// Third parties: unknown destinations never; unrelated parties only to locate the borrower or pass a message, only
/// when the borrower is lost, and never after they refused.
/// </summary>
internal sealed class ThirdPartyCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly bool[] _purposes = setup.Set<ContactPurpose>("allowed_purposes");
    private readonly bool _requireLost = setup.Bool("require_lost");
    private readonly LostBorrower _lost = new(setup.Int("lost_failed_attempts"), TimeSpan.FromHours(setup.Int("lost_wait_hours")), setup.Int("lost_unreachable_days"));

    public override TimeSpan Window => TimeSpan.FromDays(_lost.UnreachableDays + 2);

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        switch (context.Destination.Class)
        {
            case DestinationClass.Own or DestinationClass.RelatedParty:
                return;
            case DestinationClass.UnrelatedParty:
                break;
            default:
                Hit(ref hits, "the destination is not registered on the account: contact with an unknown third party is never allowed", null, Severity.Critical);
                return;
        }

        var purpose = context.Candidate.Purpose;
        if (!Has(_purposes, (int)purpose))
        {
            Hit(ref hits, $"an unrelated third party may not be contacted to {Words.Of(purpose)}", null);
            return;
        }

        if (context.PartyFlagInForce(FlagType.ThirdPartyRefused))
        {
            Hit(ref hits, "this third party refused further contact", null);
            return;
        }

        if (_requireLost && _lost.Why(context) is null)
        {
            // Not lost yet: may become lost later, but that depends on attempts not yet made, so no next time.
            Hit(ref hits, "the borrower is not lost: an own contact point is valid and recent attempts do not show the borrower unreachable", null);
        }
    }
}

/// <summary>
/// A cap on the unrelated third parties a borrower's accounts may list at all (CN: the lending app may not read the
/// borrower's address book; at most two contacts the borrower typed in). Counted per borrower, across the borrower's
/// accounts at the lender (<see cref="ContactCandidate.BorrowerAccounts"/>): the same person listed on two debts,
/// known by a shared number or address, counts once. Which of a longer list the borrower supplied cannot be told, so
/// while the accounts list more, no unrelated party on them may be contacted: the lender corrects the accounts.
/// </summary>
internal sealed class ThirdPartyRosterCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly int _maxParties = setup.Int("max_parties");

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        if (context.Destination.Class != DestinationClass.UnrelatedParty)
        {
            return;
        }

        var others = context.Candidate.BorrowerAccounts ?? [];
        var listed = UnrelatedParties(context.Account, others);
        if (listed > _maxParties)
        {
            var accountId = context.Account.AccountId;
            var where = others.Any(a => a.AccountId != accountId) ? "the borrower's accounts list" : "the account lists";
            Hit(ref hits, $"{where} {listed} unrelated third parties where at most {_maxParties} contacts supplied by the borrower may be used: "
                + $"none of them may be contacted until at most {_maxParties} are listed", null);
        }
    }

    /// <summary>
    /// The unrelated parties on the account, and those on the borrower's other accounts that share no contact point
    /// with a party of an account counted before (the same person listed on another debt). Within one account every
    /// party counts: two people may share a home number.
    /// </summary>
    private static int UnrelatedParties(Account account, IReadOnlyList<Account> others)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var count = Count(account, seen);
        foreach (var other in others)
        {
            count += other.AccountId == account.AccountId ? 0 : Count(other, seen);
        }

        return count;
    }

    /// <summary>The account's unrelated parties not known from earlier accounts (<paramref name="seen"/>), whose points it then adds.</summary>
    private static int Count(Account account, HashSet<string> seen)
    {
        var count = 0;
        foreach (var party in account.Parties)
        {
            if (!party.Related && !party.ContactPoints.Any(p => seen.Contains(p.ValueHash)))
            {
                count++;
            }
        }

        foreach (var party in account.Parties.Where(p => !p.Related))
        {
            seen.UnionWith(party.ContactPoints.Select(p => p.ValueHash));
        }

        return count;
    }
}

/// <summary>
/// At most one location communication with each third party (US 1006.10(c)), unless that party asked for more
/// (third_party_consent), or the collector came to believe the earlier answer was wrong or incomplete
/// (location_answer_incomplete): then one more, counted from the time of that flag.
/// </summary>
internal sealed class OncePerThirdPartyCheck(RuleSetup setup) : RuleCheck(setup)
{
    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var destination = context.Destination;
        if (destination.Class != DestinationClass.UnrelatedParty || context.PartyFlagInForce(FlagType.ThirdPartyConsent))
        {
            return;
        }

        var party = destination.Party?.PartyId ?? "";
        var since = DateTimeOffset.MinValue;
        foreach (var f in context.Account.Flags)
        {
            if (f.Type == FlagType.LocationAnswerIncomplete && party.Length > 0 && f.PartyId == party && f.InForceAt(context.At) && f.EffectiveFrom > since)
            {
                since = f.EffectiveFrom;
            }
        }

        var history = context.History;
        for (var i = 0; i < history.Count; i++)
        {
            var a = history[i];
            // Reservations later than this instant count too: two concurrent location calls must not both pass.
            if (a.DestinationClass == DestinationClass.UnrelatedParty && a.At >= since
                && ((party.Length > 0 && a.PartyId == party) || a.DestinationHash == destination.DestinationHash)
                && a.Outcome is not (AttemptOutcome.NoAnswer or AttemptOutcome.Rejected or AttemptOutcome.NotConnected))
            {
                Hit(ref hits, $"this third party was already contacted on {a.At:yyyy-MM-dd}; location contact is allowed once"
                    + (since > DateTimeOffset.MinValue ? " more after an answer believed wrong or incomplete" : ""), null);
                return;
            }
        }
    }
}

/// <summary>
/// Address-book explosion: contacts about one account reaching more than N distinct third parties (unrelated parties
/// and numbers not registered on the account) within a rolling window. The gate denies a contact with a third party
/// not yet reached in the window when it would make one more than the limit; the ingest raises a critical incident per
/// blast (see <see cref="BlastLimit"/>).
/// </summary>
internal sealed class AddressBookBlastCheck(RuleSetup setup) : RuleCheck(setup)
{
    public BlastLimit Limit { get; } = new(setup.Definition.Id, setup.ProfileId, setup.Definition.Citation, setup.Definition.Severity, setup.Shadow,
        setup.Int("max_third_parties"), TimeSpan.FromHours(setup.Int("window_hours")));

    public override TimeSpan Window => Limit.Window;

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var destination = context.Destination;
        if (!BlastLimit.IsThirdParty(destination.Class))
        {
            return;
        }

        // Each third party reached in (at - window, at + window), with its latest contact there. As with the rolling
        // caps, contacts later than this instant are reservations racing it, so they count too.
        var candidate = BlastLimit.ThirdParty(destination.Party?.PartyId ?? "", destination.DestinationHash);
        Dictionary<string, DateTimeOffset>? reached = null;
        var history = context.History;
        var accountId = context.Account.AccountId;
        var (first, last) = TimeOrdered.Range(history, context.At - Limit.Window, context.At + Limit.Window);
        for (var i = first; i < last; i++)
        {
            var a = history[i];
            if (Limit.Counts(a, accountId) && a.At > context.At - Limit.Window && a.At < context.At + Limit.Window)
            {
                reached ??= new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
                var key = BlastLimit.ThirdParty(a);
                reached[key] = reached.TryGetValue(key, out var seen) && seen > a.At ? seen : a.At;
            }
        }

        // A third party already reached adds no one.
        var count = reached?.Count ?? 0;
        if (count + 1 <= Limit.MaxThirdParties || (reached?.ContainsKey(candidate) ?? false))
        {
            return;
        }

        // Allowed again once enough of the others have left the window that this contact makes at most the limit.
        DateTimeOffset? next = null;
        var mustLeave = count + 1 - Limit.MaxThirdParties;
        if (reached is not null && mustLeave <= count)
        {
            var times = reached.Values.ToArray();
            Array.Sort(times);
            next = times[mustLeave - 1] + Limit.Window;
        }

        Hit(ref hits, $"this contact would reach {count + 1} distinct third parties about account {accountId} within {Limit.Window.TotalHours:0} hours (at most {Limit.MaxThirdParties}): address-book explosion", next);
    }
}

/// <summary>
/// Some channels only while a consent flag is in force for the channel (or for every channel): New York City allows
/// e-mail and texts only with the consumer's written consent.
/// </summary>
internal sealed class ConsentRequiredCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly FlagType _flag = setup.Enum<FlagType>("flag");

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        var channel = context.Candidate.Channel;
        if (Has(_channels, (int)channel) && !context.FlagInForce(_flag, channel, context.At))
        {
            Hit(ref hits, $"no {Words.Of(channel)} without {Words.Of(_flag)} in force for it", null);
        }
    }
}
