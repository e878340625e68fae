using Compliance.Domain.Rules;

namespace Compliance.Domain.Events;

/// <summary>What a collection event reports.</summary>
public enum EventKind
{
    Unspecified = 0,
    CallPlaced = 1,
    CallConnected = 2,
    CallEnded = 3,
    MessageSent = 4,
    VoicemailLeft = 5,
    Visit = 6,
    Refusal = 7,
    ConsumerRequest = 8,
    /// <summary>The consumer called the collector (a call-in).</summary>
    InboundCall = 9,
    /// <summary>The validation notice was sent or given orally (12 CFR 1006.34).</summary>
    ValidationNoticeSent = 10,
}

/// <summary>A rule an event broke, with the matched text that shows it (content rules) or empty.</summary>
public sealed record Violation(RuleHit Rule, string Excerpt);

/// <summary>
/// Turns violations into a 0..100 risk score: each blocking violation adds its severity's weight, a shadow one
/// <see cref="ShadowShare"/> of it. The weights are policy data (the BASE profile's <c>scoring</c>, which a lender's
/// policy may change) and deliberately coarse, so that a score is explained by listing its violations.
/// </summary>
public sealed record RiskWeights(double Critical, double High, double Medium, double Low, double ShadowShare)
{
    public double Weight(Severity severity) => severity switch
    {
        Severity.Critical => Critical,
        Severity.High => High,
        Severity.Medium => Medium,
        Severity.Low => Low,
        _ => 0,
    };

    public double Of(IReadOnlyList<Violation> violations)
    {
        double score = 0;
        foreach (var v in violations)
        {
            score += v.Rule.Shadow ? Weight(v.Rule.Severity) * ShadowShare : Weight(v.Rule.Severity);
        }

        return Math.Min(100, score);
    }
}
