using Compliance.Domain.Policies;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Rules;

/// <summary>
/// A consumer's prior consent, given directly to the collector, to calls about one debt (12 CFR 1006.14(b)(3)(i) and
/// commentary 14(b)(3)(i)-2): calls placed within the consented window count neither toward the 7-in-7 cap nor against
/// the wait after a conversation. The window is the day or time the consumer named (the flag's window start and expiry)
/// or, when none was named, from when it was given; it never runs past the seventh consecutive local day, the day consent
/// was received being day 1. Consent also ends when it is revoked (the flag is cleared) and at the next telephone
/// conversation about the debt after it was given.
/// </summary>
internal static class Consent
{
    /// <summary>The longest a consent covers calls: seven consecutive days, the day it was received being day 1.</summary>
    public const int MaxDays = 7;

    /// <summary>Whether a call by <paramref name="channel"/> about <paramref name="accountId"/> at <paramref name="at"/> falls within a consented window.</summary>
    public static bool Covers(in GateContext context, string accountId, Channel channel, DateTimeOffset at)
    {
        var account = context.Account;
        if (!string.Equals(accountId, account.AccountId, StringComparison.Ordinal))
        {
            return false; // consent is given for a particular debt
        }

        var flags = account.Flags;
        for (var i = 0; i < flags.Count; i++)
        {
            var f = flags[i];
            if (f.Type == FlagType.ConsentToContact && (f.Channel == Channel.Unspecified || f.Channel == channel)
                && at >= (f.WindowFrom ?? f.EffectiveFrom) && at < End(f, context.Zones) && (f.ClearedAt is null || at < f.ClearedAt)
                && !ConversationSince(context, accountId, f.EffectiveFrom, at))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The end of the window: the consumer's own end, at the latest the start of local day 8 (earliest over the possible zones).</summary>
    public static DateTimeOffset End(Flag consent, TimeZoneInfo[] zones)
    {
        var end = consent.ExpiresAt ?? DateTimeOffset.MaxValue;
        if (consent.EffectiveFrom == DateTimeOffset.MinValue)
        {
            return end;
        }

        foreach (var zone in zones)
        {
            var day = DateOnly.FromDateTime(LocalZones.ToLocal(zone, consent.EffectiveFrom)).AddDays(MaxDays);
            var limit = LocalZones.StartOfDay(zone, day);
            end = limit < end ? limit : end;
        }

        return end;
    }

    /// <summary>Telephone conversations with the consumer (the debt is added per account).</summary>
    private static readonly CountKey Conversations = new(1UL << (int)Channel.VoiceCall, CountKey.Any,
        CountKey.Mask(AttemptOutcome.Conversation, AttemptOutcome.InboundConversation), CountKey.Consumer, null, null);

    /// <summary>A telephone conversation with the consumer about the debt after consent was given and before the instant ends it.</summary>
    private static bool ConversationSince(in GateContext context, string accountId, DateTimeOffset given, DateTimeOffset at)
    {
        var history = context.History;
        if (history is ICountedAttempts counted)
        {
            // The first conversation after consent was given, as the window keeps them: one binary search.
            var times = counted.Counted(Conversations with { AccountId = accountId });
            var next = times.UpperBound(given);
            return next < times.Count && times[next] < at;
        }

        for (var i = 0; i < history.Count; i++)
        {
            var a = history[i];
            if (a.Outcome.IsConversation() && a.At > given && a.At < at && a.Channel == Channel.VoiceCall
                && a.DestinationClass is DestinationClass.Own or DestinationClass.RelatedParty
                && string.Equals(a.AccountId, accountId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
