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
        return decision;
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
    };
}
