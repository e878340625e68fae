using Compliance.Domain.Policies;

namespace Compliance.Domain.Rules;

/// <summary>
/// Whether the borrower is lost (CN 2026 guideline), derived from the account and the borrower's history:
/// every own contact point is invalid; or the last N attempts to own contact points all failed (no answer,
/// rejected, not connected, voicemail) and the wait has passed since the last of them; or, since the last
/// successful contact (a conversation or an answered call), there were failed attempts on each of D consecutive
/// completed local days. Pending attempts are neither failures nor successes: they are ignored for the streak
/// of days, but a pending attempt among the last N breaks the run of failures.
/// </summary>
internal sealed class LostBorrower(int failedAttempts, TimeSpan wait, int unreachableDays)
{
    public int UnreachableDays => unreachableDays;

    /// <summary>The reason the borrower counts as lost, or null when not lost.</summary>
    public string? Why(in GateContext context)
    {
        var valid = false;
        foreach (var point in context.Account.ContactPoints)
        {
            valid |= !point.Invalid;
        }

        if (!valid)
        {
            return "every own contact point is invalid";
        }

        var own = new List<Attempt>();
        foreach (var a in context.History)
        {
            if (a.DestinationClass == DestinationClass.Own && a.At <= context.At)
            {
                own.Add(a);
            }
        }

        own.Sort(static (x, y) => x.At.CompareTo(y.At));
        if (own.Count >= failedAttempts && failedAttempts > 0)
        {
            var allFailed = true;
            for (var i = own.Count - failedAttempts; i < own.Count; i++)
            {
                allFailed &= Failed(own[i].Outcome);
            }

            if (allFailed && context.At >= own[^1].At + wait)
            {
                return $"the last {failedAttempts} attempts failed and {wait.TotalHours:0} hours have passed";
            }
        }

        var lastSuccess = own.FindLastIndex(a => a.Outcome is AttemptOutcome.Conversation or AttemptOutcome.AnsweredNoConversation || a.Outcome.IsInbound());
        var zone = context.Zones[0];
        var today = DateOnly.FromDateTime(LocalZones.ToLocal(zone, context.At));
        var run = 0;
        DateOnly? previous = null;
        for (var i = lastSuccess + 1; i < own.Count; i++)
        {
            if (own[i].Outcome == AttemptOutcome.Pending)
            {
                continue;
            }

            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, own[i].At));
            if (day >= today || day == previous)
            {
                continue;
            }

            run = previous is { } p && p.AddDays(1) == day ? run + 1 : 1;
            previous = day;
            if (run >= unreachableDays)
            {
                return $"unreachable on {unreachableDays} consecutive days despite attempts on each";
            }
        }

        return null;
    }

    private static bool Failed(AttemptOutcome outcome) =>
        outcome is AttemptOutcome.NoAnswer or AttemptOutcome.Rejected or AttemptOutcome.NotConnected or AttemptOutcome.Voicemail;
}
