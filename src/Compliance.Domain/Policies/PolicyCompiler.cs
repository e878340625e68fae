using System.Globalization;
using Compliance.Domain.Rules;
using YamlDotNet.RepresentationModel;

namespace Compliance.Domain.Policies;

/// <summary>
/// Validates a lender's policy document against a profile catalog and compiles it. A document with any problem is
/// rejected whole, with every problem's path and reason, so the previous good policy stays in force.
/// </summary>
/// <remarks>
/// The document (all keys optional):
/// <code>
/// profiles: { by_location: true, include: [US-REGF], exclude: [] }
/// overrides: { US-REGF.call-frequency: { max_attempts: 5 } }   # tighten; correctable parameters may also loosen
/// shadow: [US-WA.weekly-communications]                          # evaluated and reported, not blocking
/// enforce: [US-REGF.dispute]                                     # make a rule that is shadow by default blocking
/// blocked_dates: [ { date: 2026-12-25, regions: [US], reason: Christmas Day } ]
/// evidence: { keep_message_bodies: false }                      # true keeps every message's full body
/// scoring: { critical: 80 }                                      # risk weights; the rest as the catalog's (BASE)
/// </code>
/// </remarks>
public static class PolicyCompiler
{
    /// <summary>Compiles <paramref name="document"/>; null or empty means the default policy (profiles by location, nothing overridden).</summary>
    public static PolicyCompileResult Compile(string? document, string version, DateTimeOffset effectiveAt, ProfileCatalog catalog) =>
        Compile(document, version, effectiveAt, catalog, stored: false);

    /// <summary>
    /// Compiles a document stored before the catalog made a profile required: excluding that profile was allowed when
    /// it was stored, so instead of the whole version being set aside (its blocked dates and tightened limits with it),
    /// the exclusion is overruled (the profile applies) and reported in <see cref="PolicyCompileResult.Overruled"/>.
    /// Every other problem still rejects the version.
    /// </summary>
    public static PolicyCompileResult CompileStored(string? document, string version, DateTimeOffset effectiveAt, ProfileCatalog catalog) =>
        Compile(document, version, effectiveAt, catalog, stored: true);

    private static PolicyCompileResult Compile(string? document, string version, DateTimeOffset effectiveAt, ProfileCatalog catalog, bool stored)
    {
        var problems = new List<PolicyProblem>();
        var overruled = new List<PolicyProblem>();
        var byLocation = true;
        List<string> include = [], exclude = [], shadow = [], enforce = [];
        var overrides = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var blocked = new List<BlockedDate>();
        var keepBodies = false;
        var scoring = catalog.Scoring;
        var rules = catalog.Profiles.SelectMany(p => p.Rules).ToDictionary(r => r.Id, StringComparer.Ordinal);

        var root = string.IsNullOrWhiteSpace(document) ? null : YamlText.Load(document, "", problems);
        if (root is not null && YamlText.Mapping(root, "", problems) is { } map)
        {
            foreach (var (key, node) in YamlText.Entries(map))
            {
                switch (key)
                {
                    case "profiles": ReadProfiles(node, catalog, problems, stored ? overruled : problems, ref byLocation, include, exclude); break;
                    case "overrides": ReadOverrides(node, rules, problems, overrides); break;
                    case "shadow": RuleIds(node, key, rules, problems, shadow); break;
                    case "enforce": RuleIds(node, key, rules, problems, enforce); break;
                    case "blocked_dates": ReadBlockedDates(node, problems, blocked); break;
                    case "evidence": ReadEvidence(node, problems, ref keepBodies); break;
                    case "scoring": scoring = ScoringText.Read(node, key, catalog.Scoring, problems) ?? scoring; break;
                    default: problems.Add(new PolicyProblem(key, "unknown key; expected profiles, overrides, shadow, enforce, blocked_dates, evidence or scoring")); break;
                }
            }
        }

        CheckHours(rules, overrides, problems);
        foreach (var id in shadow.Intersect(enforce, StringComparer.Ordinal))
        {
            problems.Add(new PolicyProblem("enforce", $"rule '{id}' is listed both in shadow and in enforce"));
        }

        if (problems.Count > 0)
        {
            return new PolicyCompileResult(null, problems);
        }

        var checks = new Dictionary<string, RuleCheck[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var profile in catalog.Profiles)
        {
            checks[profile.Id] = profile.Rules.Select(rule =>
            {
                var values = new Dictionary<string, string>(rule.Parameters, StringComparer.Ordinal);
                foreach (var (name, value) in overrides.GetValueOrDefault(rule.Id) ?? [])
                {
                    values[name] = value;
                }

                var isShadow = shadow.Contains(rule.Id) || (rule.Shadow && !enforce.Contains(rule.Id));
                return RuleKinds.All[rule.Kind].Build(new RuleSetup(rule, profile.Id, values, isShadow, profile.InForceFrom));
            }).ToArray();
        }

        var policy = new CompiledPolicy(version, effectiveAt, catalog.Profiles, checks, byLocation, include, exclude, blocked, keepBodies, scoring);
        return new PolicyCompileResult(policy, [], overruled);
    }

    private static void ReadEvidence(YamlNode node, List<PolicyProblem> problems, ref bool keepBodies)
    {
        if (YamlText.Mapping(node, "evidence", problems) is not { } map)
        {
            return;
        }

        foreach (var (key, value) in YamlText.Entries(map))
        {
            var path = $"evidence.{key}";
            if (key != "keep_message_bodies")
            {
                problems.Add(new PolicyProblem(path, "unknown key; expected keep_message_bodies"));
                continue;
            }

            if (YamlText.Boolean(value, path, problems) is { } keep)
            {
                keepBodies = keep;
            }
        }
    }

    /// <param name="requiredExcluded">Where an exclusion of a required profile is reported (it is never applied).</param>
    private static void ReadProfiles(YamlNode node, ProfileCatalog catalog, List<PolicyProblem> problems, List<PolicyProblem> requiredExcluded,
        ref bool byLocation, List<string> include, List<string> exclude)
    {
        if (YamlText.Mapping(node, "profiles", problems) is not { } map)
        {
            return;
        }

        foreach (var (key, value) in YamlText.Entries(map))
        {
            var path = $"profiles.{key}";
            switch (key)
            {
                case "by_location":
                    byLocation = YamlText.Boolean(value, path, problems) ?? byLocation;
                    break;
                case "include" or "exclude":
                    var ids = YamlText.Strings(value, path, problems) ?? [];
                    for (var i = 0; i < ids.Count; i++)
                    {
                        var profile = catalog.Find(ids[i]);
                        if (profile is null)
                        {
                            problems.Add(new PolicyProblem($"{path}[{i}]", $"unknown profile '{ids[i]}'"));
                        }
                        else if (key == "exclude" && profile.Required)
                        {
                            requiredExcluded.Add(new PolicyProblem($"{path}[{i}]",
                                $"profile '{profile.Id}' applies to every account and cannot be excluded; tighten its rules in overrides or list a rule under shadow"));
                            continue;
                        }

                        (key == "include" ? include : exclude).Add(ids[i]);
                    }
                    break;
                default:
                    problems.Add(new PolicyProblem(path, "unknown key; expected by_location, include or exclude"));
                    break;
            }
        }
    }

    private static void ReadOverrides(YamlNode node, Dictionary<string, RuleDefinition> rules, List<PolicyProblem> problems,
        Dictionary<string, Dictionary<string, string>> overrides)
    {
        if (YamlText.Mapping(node, "overrides", problems) is not { } map)
        {
            return;
        }

        foreach (var (ruleId, ruleNode) in YamlText.Entries(map))
        {
            var rulePath = YamlText.Key("overrides", ruleId);
            if (!rules.TryGetValue(ruleId, out var rule))
            {
                problems.Add(new PolicyProblem(rulePath, $"unknown rule '{ruleId}'"));
                continue;
            }

            if (YamlText.Mapping(ruleNode, rulePath, problems) is not { } parameters)
            {
                continue;
            }

            var kind = RuleKinds.All[rule.Kind];
            var values = overrides[ruleId] = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, valueNode) in YamlText.Entries(parameters))
            {
                var path = YamlText.Key(rulePath, name);
                if (kind.Find(name) is not { } spec)
                {
                    var known = string.Join(", ", kind.Parameters.Select(p => p.Name));
                    problems.Add(new PolicyProblem(path, known.Length == 0
                        ? $"rule '{ruleId}' has no parameters"
                        : $"unknown parameter '{name}' for rule '{ruleId}'; expected one of {known}"));
                    continue;
                }

                if (YamlText.Value(valueNode, path, problems) is not { } value)
                {
                    continue;
                }

                if (RuleKinds.Invalid(spec, value) is { } why)
                {
                    problems.Add(new PolicyProblem(path, why));
                    continue;
                }

                var builtIn = rule.Parameters[name];
                if (!rule.Correctable.Contains(name) && !RuleKinds.IsTighterOrEqual(spec, builtIn, value))
                {
                    problems.Add(new PolicyProblem(path, spec.Tighten == Tighten.Never
                        ? $"may not be changed: built-in value {builtIn}, got {value}"
                        : $"may only be tightened: built-in value {builtIn}, got {value}"));
                    continue;
                }

                values[name] = value;
            }
        }
    }

    /// <summary>Overridden hours must still leave a window: start before end on the same day.</summary>
    private static void CheckHours(Dictionary<string, RuleDefinition> rules, Dictionary<string, Dictionary<string, string>> overrides, List<PolicyProblem> problems)
    {
        foreach (var (ruleId, values) in overrides)
        {
            var rule = rules[ruleId];
            if (rule.Kind != "allowed-hours" || !(values.ContainsKey("start") || values.ContainsKey("end")))
            {
                continue;
            }

            var start = values.GetValueOrDefault("start") ?? rule.Parameters["start"];
            var end = values.GetValueOrDefault("end") ?? rule.Parameters["end"];
            if (RuleKinds.ParseMinutes(start) >= RuleKinds.ParseMinutes(end))
            {
                problems.Add(new PolicyProblem(YamlText.Key(YamlText.Key("overrides", ruleId), values.ContainsKey("start") ? "start" : "end"),
                    $"start ({start}) must be before end ({end}) on the same day"));
            }
        }
    }

    private static void RuleIds(YamlNode node, string key, Dictionary<string, RuleDefinition> rules, List<PolicyProblem> problems, List<string> into)
    {
        var ids = YamlText.Strings(node, key, problems) ?? [];
        for (var i = 0; i < ids.Count; i++)
        {
            if (!rules.ContainsKey(ids[i]))
            {
                problems.Add(new PolicyProblem($"{key}[{i}]", $"unknown rule '{ids[i]}'"));
            }
        }

        into.AddRange(ids);
    }

    private static void ReadBlockedDates(YamlNode node, List<PolicyProblem> problems, List<BlockedDate> into)
    {
        if (node is not YamlSequenceNode sequence)
        {
            problems.Add(new PolicyProblem("blocked_dates", "expected a list of { date, regions, reason }"));
            return;
        }

        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = $"blocked_dates[{i}]";
            if (YamlText.Mapping(sequence.Children[i], path, problems) is not { } map)
            {
                continue;
            }

            DateOnly? date = null;
            List<string> regions = [];
            var reason = "";
            foreach (var (key, value) in YamlText.Entries(map))
            {
                var at = $"{path}.{key}";
                switch (key)
                {
                    case "date":
                        var text = YamlText.Scalar(value, at, problems);
                        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                        {
                            date = d;
                        }
                        else if (text is not null)
                        {
                            problems.Add(new PolicyProblem(at, $"expected a date YYYY-MM-DD, got '{text}'"));
                        }

                        break;
                    case "regions": regions = YamlText.Strings(value, at, problems) ?? []; break;
                    case "reason": reason = YamlText.Scalar(value, at, problems) ?? ""; break;
                    default: problems.Add(new PolicyProblem(at, "unknown key; expected date, regions or reason")); break;
                }
            }

            if (date is null && !map.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == "date"))
            {
                problems.Add(new PolicyProblem($"{path}.date", "missing date"));
            }

            if (date is { } day)
            {
                into.Add(new BlockedDate(day, regions, reason));
            }
        }
    }
}
