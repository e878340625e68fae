using Compliance.Domain.Policies;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Rules;

/// <summary>
/// The validation notice (12 CFR 1006.34(a)(1)): the validation information goes to the consumer in the initial
/// communication (orally or in writing) or in a notice sent within N days after it. The text counts plain days (unlike
/// 1006.34(b)(5) and 1006.22(c)(1), it excludes no weekends or holidays), so the notice is due by the end of the consumer's
/// local day N after the day of the initial communication. The initial communication is the first contact that conveyed
/// information about the debt to the consumer: a conversation (placed or a call-in), a delivered message or letter, a
/// visit. The notice is a <see cref="FlagType.ValidationNoticeSent"/> flag, set by the validation-notice-sent event or
/// through the registry.
/// <para>
/// At the gate the rule only holds collection contacts until the notice is sent, where the lender's policy asks for it
/// (<c>hold_until_sent</c>). The timing itself is judged by the monitor (<see cref="CompiledPolicy.ValidationNoticeTiming"/>):
/// a notice sent late is a violation of its event; a missing one becomes known with the first event about the debt after
/// the deadline, which carries the violation, and raises one incident per debt.
/// </para>
/// </summary>
internal sealed class ValidationNoticeCheck(RuleSetup setup) : RuleCheck(setup)
{
    private readonly int _days = setup.Int("days");
    private readonly bool _hold = setup.Bool("hold_until_sent");
    private readonly bool[] _channels = setup.Set<Channel>("channels");
    private readonly bool[] _purposes = setup.Set<ContactPurpose>("purposes");

    /// <summary>The notice's deadline is judged from the communications in this window.</summary>
    public override TimeSpan Window => TimeSpan.FromDays(_days + 2);

    public override void Check(in GateContext context, ref List<RuleHit>? hits)
    {
        if (!_hold || !context.IsConsumer || !Has(_channels, (int)context.Candidate.Channel) || !Has(_purposes, (int)context.Candidate.Purpose)
            || Sent(context.Account, context.At) is not null)
        {
            return;
        }

        Hit(ref hits, "no validation notice has been sent for this debt: the lender's policy holds collection contacts until it is", null);
    }

    /// <summary>
    /// The hit the timing of the notice earns at <paramref name="at"/>, or null: for the notice's own event
    /// (<paramref name="atNotice"/>), sent late; for any other event, missing after the deadline.
    /// </summary>
    public RuleHit? Timing(Account account, IReadOnlyList<Attempt> history, TimeZoneInfo[] zones, DateTimeOffset at, bool atNotice)
    {
        var initial = Initial(account, history, at);
        if (initial is not { } first)
        {
            return null;
        }

        var deadline = Deadline(first, zones);
        var local = LocalZones.ToLocal(zones[0], first);
        var sent = Sent(account, at);
        if (sent is { } notice)
        {
            return atNotice && notice.EffectiveFrom >= deadline
                ? Hit($"the validation notice was sent on {LocalZones.ToLocal(zones[0], notice.EffectiveFrom):yyyy-MM-dd}, more than {_days} days after the initial communication on {local:yyyy-MM-dd} (due by the end of {local.AddDays(_days):yyyy-MM-dd})")
                : null;
        }

        return at >= deadline
            ? Hit($"no validation notice was sent within {_days} days of the initial communication on {local:yyyy-MM-dd} (due by the end of {local.AddDays(_days):yyyy-MM-dd})")
            : null;
    }

    private RuleHit Hit(string message) => new(RuleId, Profile, Citation, message, Shadow, Severity, null);

    /// <summary>The end of local day N after the initial communication's day, the earliest over the possible zones.</summary>
    private DateTimeOffset Deadline(DateTimeOffset initial, TimeZoneInfo[] zones)
    {
        var deadline = DateTimeOffset.MaxValue;
        foreach (var zone in zones)
        {
            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, initial)).AddDays(_days + 1);
            var end = LocalZones.StartOfDay(zone, day);
            deadline = end < deadline ? end : deadline;
        }

        return deadline;
    }

    /// <summary>The first notice in force at the instant (a cleared one was recorded in error).</summary>
    private static Flag? Sent(Account account, DateTimeOffset at)
    {
        Flag? first = null;
        foreach (var f in account.Flags)
        {
            if (f.Type == FlagType.ValidationNoticeSent && f.InForceAt(at) && (first is null || f.EffectiveFrom < first.EffectiveFrom))
            {
                first = f;
            }
        }

        return first;
    }

    /// <summary>Communications with the consumer that conveyed information about the debt (the debt is added per account).</summary>
    private static readonly CountKey Communications = new(CountKey.Any, CountKey.Any,
        CountKey.Mask(AttemptOutcome.Conversation, AttemptOutcome.InboundConversation, AttemptOutcome.Delivered, AttemptOutcome.Visited), CountKey.Consumer, null, null);

    /// <summary>The earliest communication with the consumer about the debt in the history, up to the instant.</summary>
    private static DateTimeOffset? Initial(Account account, IReadOnlyList<Attempt> history, DateTimeOffset at)
    {
        if (history is ICountedAttempts counted)
        {
            // The first of them the window keeps: nothing is read when the consumer was never reached.
            var times = counted.Counted(Communications with { AccountId = account.AccountId });
            return times.Count > 0 && times[0] <= at ? times[0] : null;
        }

        DateTimeOffset? first = null;
        // In a time-ordered history the first match is the earliest, and nothing after the instant is read.
        var ordered = history is ITimeOrderedAttempts;
        var (from, to) = TimeOrdered.Range(history, DateTimeOffset.MinValue, at);
        for (var i = from; i < to; i++)
        {
            var a = history[i];
            if (a.At <= at && (first is null || a.At < first)
                && a.Outcome is AttemptOutcome.Conversation or AttemptOutcome.InboundConversation or AttemptOutcome.Delivered or AttemptOutcome.Visited
                && a.DestinationClass is DestinationClass.Own or DestinationClass.RelatedParty
                && string.Equals(a.AccountId, account.AccountId, StringComparison.Ordinal))
            {
                first = a.At;
                if (ordered)
                {
                    break;
                }
            }
        }

        return first;
    }
}
