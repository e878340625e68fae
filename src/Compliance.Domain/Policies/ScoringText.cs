using System.Globalization;
using Compliance.Domain.Events;
using YamlDotNet.RepresentationModel;

namespace Compliance.Domain.Policies;

/// <summary>
/// Reads risk weights, <c>scoring: { critical: 70, high: 35, medium: 15, low: 5, shadow_share: 0.25 }</c>: in the
/// profile that sets them every key is required; in a lender's policy any of them changes the catalog's.
/// </summary>
internal static class ScoringText
{
    private const string Expected = "expected critical, high, medium, low or shadow_share";

    /// <param name="basis">The weights a lender's policy changes; null where every key is required (the profile).</param>
    public static RiskWeights? Read(YamlNode node, string path, RiskWeights? basis, List<PolicyProblem> problems)
    {
        if (YamlText.Mapping(node, path, problems) is not { } map)
        {
            return null;
        }

        var before = problems.Count;
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in YamlText.Entries(map))
        {
            var at = $"{path}.{key}";
            double? most = key switch
            {
                "critical" or "high" or "medium" or "low" => 100,
                "shadow_share" => 1,
                _ => null,
            };
            if (most is null)
            {
                problems.Add(new PolicyProblem(at, $"unknown key; {Expected}"));
            }
            else if (YamlText.Scalar(value, at, problems) is { } text)
            {
                if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                    && number >= 0 && number <= most)
                {
                    values[key] = number;
                }
                else
                {
                    problems.Add(new PolicyProblem(at, most == 1 ? "expected a share from 0 to 1" : "expected a weight from 0 to 100"));
                }
            }
        }

        if (problems.Count > before)
        {
            return null;
        }

        double Value(string key, double? current)
        {
            if (values.TryGetValue(key, out var value))
            {
                return value;
            }

            if (current is null)
            {
                problems.Add(new PolicyProblem($"{path}.{key}", "is required where the risk weights are set"));
            }

            return current ?? 0;
        }

        var weights = new RiskWeights(Value("critical", basis?.Critical), Value("high", basis?.High), Value("medium", basis?.Medium),
            Value("low", basis?.Low), Value("shadow_share", basis?.ShadowShare));
        (string Name, double Weight)[] bySeverity = [("critical", weights.Critical), ("high", weights.High), ("medium", weights.Medium), ("low", weights.Low)];
        for (var i = 1; i < bySeverity.Length; i++)
        {
            if (bySeverity[i].Weight > bySeverity[i - 1].Weight)
            {
                problems.Add(new PolicyProblem(path, $"a more severe violation may not weigh less: {bySeverity[i].Name} ({Number(bySeverity[i].Weight)}) "
                    + $"weighs more than {bySeverity[i - 1].Name} ({Number(bySeverity[i - 1].Weight)})"));
            }
        }

        return problems.Count > before ? null : weights;
    }

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
