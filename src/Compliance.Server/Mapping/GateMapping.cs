using Compliance.Domain.Policies;
using Compliance.Domain.Rules;
using Compliance.Storage;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Mapping;

/// <summary>Maps recorded decisions to the contract.</summary>
internal static class GateMapping
{
    public static V1.Decision ToProto(DecisionRecord d)
    {
        var decision = new V1.Decision
        {
            DecisionId = d.DecisionId,
            Verdict = d.Allowed ? V1.Verdict.Allow : V1.Verdict.Deny,
            NextAllowedAt = Proto.Time(d.NextAllowedAt),
            PolicyVersion = d.PolicyVersion,
            DestinationClass = (V1.DestinationClass)d.DestinationClass,
            EvaluatedAt = Proto.Time(d.EvaluatedAt),
            ReservationExpiresAt = Proto.Time(d.ReservedUntil),
            FailedClosed = d.FailedClosed,
            Contact = new V1.ContactRequest
            {
                AccountId = d.AccountId,
                CollectorId = d.CollectorId,
                Channel = (V1.Channel)d.Channel,
                Purpose = (V1.ContactPurpose)d.Purpose,
            },
        };
        decision.Rules.AddRange(d.Rules.Select(ToProto));
        decision.Profiles.AddRange(d.Profiles);
        decision.HoursWindow = ToProto(d.Hours);
        return decision;
    }

    public static V1.HoursWindow? ToProto(HoursWindow? h)
    {
        if (h is null)
        {
            return null;
        }

        var window = new V1.HoursWindow
        {
            LocalWindow = new V1.LocalTimeRange { StartMinute = h.StartMinute, EndMinute = h.EndMinute },
            EffectiveZone = h.EffectiveZone,
            EffectiveStart = Proto.Time(h.EffectiveStart),
            EffectiveEnd = Proto.Time(h.EffectiveEnd),
            EffectiveLocal = h.EffectiveLocal,
        };
        window.Zones.AddRange(h.Zones.Select(z => new V1.ZoneIndicator { TimeZone = z.Zone, Source = (V1.ZoneSource)z.Source, Detail = z.Detail }));
        window.RuleIds.AddRange(h.RuleIds);
        return window;
    }

    public static V1.RuleResult ToProto(RuleHit hit) => new()
    {
        RuleId = hit.RuleId,
        Profile = hit.Profile,
        Citation = hit.Citation,
        Message = hit.Message,
        Effect = hit.Shadow ? V1.RuleEffect.ShadowDeny : V1.RuleEffect.Deny,
        Severity = (V1.Severity)hit.Severity,
        NextAllowedAt = Proto.Time(hit.NextAllowedAt),
        HoursWindow = ToProto(hit.Hours),
    };
}
