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
}

/// <summary>A rule an event broke, with the matched text that shows it (content rules) or empty.</summary>
public sealed record Violation(RuleHit Rule, string Excerpt);

/// <summary>The monitor's answer to one event: what it broke and how risky it was.</summary>
public sealed record EventVerdict(IReadOnlyList<Violation> Violations, double RiskScore)
{
    public static readonly EventVerdict Clean = new([], 0);
}

/// <summary>
/// Turns violations into a 0..100 risk score: each blocking violation adds its severity's weight, shadow ones a
/// quarter of it. The weights are deliberately coarse so that a score can be explained by listing its violations.
/// </summary>
public static class RiskScore
{
    public static double Weight(Severity severity) => severity switch
    {
        Severity.Critical => 70,
        Severity.High => 35,
        Severity.Medium => 15,
        Severity.Low => 5,
        _ => 0,
    };

    public static double Of(IReadOnlyList<Violation> violations)
    {
        double score = 0;
        foreach (var v in violations)
        {
            score += v.Rule.Shadow ? Weight(v.Rule.Severity) / 4 : Weight(v.Rule.Severity);
        }

        return Math.Min(100, score);
    }
}
