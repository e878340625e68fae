using System.Globalization;
using Compliance.Domain.Rules;
using YamlDotNet.RepresentationModel;

namespace Compliance.Domain.Policies;

/// <summary>The rule sets a lender's policy can select from. The built-in catalog is read from YAML embedded in this assembly.</summary>
public sealed class ProfileCatalog
{
    private static readonly Lazy<ProfileCatalog> BuiltInCatalog = new(LoadBuiltIn);
    private readonly Dictionary<string, Profile> _byId;

    private ProfileCatalog(IReadOnlyList<Profile> profiles, Events.RiskWeights scoring)
    {
        Profiles = profiles;
        Scoring = scoring;
        _byId = profiles.ToDictionary(p => p.Id, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The profiles shipped with the service (US-REGF, US-MA, US-WA, US-NYC, US-CA, CN, IN-RBI, IE, BASE).</summary>
    public static ProfileCatalog BuiltIn => BuiltInCatalog.Value;

    public IReadOnlyList<Profile> Profiles { get; }

    public Profile? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The risk weights of violations, as the one profile that sets them says (BASE); a lender's policy may change them.</summary>
    public Events.RiskWeights Scoring { get; }

    /// <summary>
    /// The profile that keeps records longest (null when none sets a period): the least time a store that keeps
    /// every lender's records under one period may keep them.
    /// </summary>
    public Profile? KeepsRecordsLongest => Profiles.Where(p => p.Records is not null).MaxBy(p => p.Records!.KeepDays);

    /// <summary>Builds a catalog from profile documents (name, YAML text); throws listing every problem when any is invalid.</summary>
    public static ProfileCatalog Load(IEnumerable<(string Name, string Yaml)> documents)
    {
        var problems = new List<PolicyProblem>();
        var profiles = new List<Profile>();
        foreach (var (name, yaml) in documents)
        {
            if (Parse(name, yaml, problems) is { } profile)
            {
                if (profiles.Any(p => string.Equals(p.Id, profile.Id, StringComparison.OrdinalIgnoreCase)))
                {
                    problems.Add(new PolicyProblem($"{name}: id", $"duplicate profile id '{profile.Id}'"));
                }

                profiles.Add(profile);
            }
        }

        // Counted only among valid documents: an invalid one may be the one that sets them.
        var scoring = profiles.Where(p => p.Scoring is not null).ToList();
        if (problems.Count == 0 && scoring.Count != 1)
        {
            problems.Add(new PolicyProblem("scoring", $"one profile sets the risk weights of violations; {(scoring.Count == 0 ? "none does"
                : $"{string.Join(", ", scoring.Select(p => p.Id))} do")}"));
        }

        if (problems.Count > 0)
        {
            throw new InvalidDataException("Invalid profile documents: " + string.Join("; ", problems.Select(p => $"{p.Path}: {p.Message}")));
        }

        return new ProfileCatalog(profiles, scoring[0].Scoring!);
    }

    private static ProfileCatalog LoadBuiltIn()
    {
        var assembly = typeof(ProfileCatalog).Assembly;
        var documents = new List<(string, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".Policies.Profiles.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            documents.Add((name[(name.IndexOf(".Profiles.", StringComparison.Ordinal) + 10)..], reader.ReadToEnd()));
        }

        return Load(documents);
    }

    /// <summary>Parses one profile document, adding problems (paths prefixed with the document name) when invalid.</summary>
    internal static Profile? Parse(string name, string yaml, List<PolicyProblem> problems)
    {
        var before = problems.Count;
        var root = YamlText.Load(yaml, name, problems);
        if (root is null || YamlText.Mapping(root, name, problems) is not { } map)
        {
            return null;
        }

        string id = "", title = "", version = "";
        var required = false;
        RecordKeeping? records = null;
        Events.RiskWeights? scoring = null;
        List<string> appliesTo = [];
        List<string>? postalCodes = null;
        DateTimeOffset? inForceFrom = null;
        var rules = new List<RuleDefinition>();
        foreach (var (key, node) in YamlText.Entries(map))
        {
            var path = $"{name}: {key}";
            switch (key)
            {
                case "id": id = YamlText.Scalar(node, path, problems) ?? ""; break;
                case "title": title = YamlText.Scalar(node, path, problems) ?? ""; break;
                case "version": version = YamlText.Scalar(node, path, problems) ?? ""; break;
                case "applies_to": appliesTo = YamlText.Strings(node, path, problems) ?? []; break;
                case "postal_codes": postalCodes = PostalCodes(node, path, problems); break;
                case "in_force_from": inForceFrom = InForceFrom(node, path, problems); break;
                case "required": required = YamlText.Boolean(node, path, problems) ?? false; break;
                case "records": records = ParseRecords(node, path, problems); break;
                case "scoring": scoring = ScoringText.Read(node, path, null, problems); break;
                case "rules":
                    if (node is YamlSequenceNode sequence)
                    {
                        for (var i = 0; i < sequence.Children.Count; i++)
                        {
                            if (ParseRule(sequence.Children[i], $"{name}: rules[{i}]", problems) is { } rule)
                            {
                                rules.Add(rule);
                            }
                        }
                    }
                    else
                    {
                        problems.Add(new PolicyProblem(path, "expected a list of rules"));
                    }

                    break;
                default: problems.Add(new PolicyProblem(path, "unknown key")); break;
            }
        }

        if (id.Length == 0)
        {
            problems.Add(new PolicyProblem($"{name}: id", "a profile needs an id"));
        }

        foreach (var rule in rules.Where(r => !r.Id.StartsWith(id + ".", StringComparison.Ordinal)))
        {
            problems.Add(new PolicyProblem($"{name}: rules", $"rule id '{rule.Id}' must start with '{id}.'"));
        }

        return problems.Count == before ? new Profile(id, title, appliesTo, version, rules, required, records, scoring, postalCodes, inForceFrom) : null;
    }

    /// <summary><c>postal_codes: ["100", "11004"]</c>: prefixes of postal codes, digits and letters only, at least one.</summary>
    private static List<string>? PostalCodes(YamlNode node, string path, List<PolicyProblem> problems)
    {
        var codes = YamlText.Strings(node, path, problems);
        if (codes is null)
        {
            return null;
        }

        if (codes.Count == 0 || codes.Any(c => c.Length == 0 || !c.All(char.IsAsciiLetterOrDigit)))
        {
            problems.Add(new PolicyProblem(path, "expected a non-empty list of postal code prefixes (letters and digits)"));
            return null;
        }

        return codes;
    }

    /// <summary><c>in_force_from: 2025-04-01</c>: a date (midnight UTC) or an instant with its offset.</summary>
    private static DateTimeOffset? InForceFrom(YamlNode node, string path, List<PolicyProblem> problems)
    {
        var text = YamlText.Scalar(node, path, problems);
        if (text is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
        {
            return at;
        }

        problems.Add(new PolicyProblem(path, $"expected a date YYYY-MM-DD or an instant with its offset, got '{text}'"));
        return null;
    }

    /// <summary><c>records: { keep_days: 1096, citation: "..." }</c>: both required, at least one day.</summary>
    private static RecordKeeping? ParseRecords(YamlNode node, string path, List<PolicyProblem> problems)
    {
        if (YamlText.Mapping(node, path, problems) is not { } map)
        {
            return null;
        }

        var before = problems.Count;
        int? days = null;
        var citation = "";
        foreach (var (key, value) in YamlText.Entries(map))
        {
            var at = $"{path}.{key}";
            switch (key)
            {
                case "keep_days":
                    if (YamlText.Scalar(value, at, problems) is not { } text)
                    {
                        break;
                    }

                    if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d >= 1)
                    {
                        days = d;
                    }
                    else
                    {
                        problems.Add(new PolicyProblem(at, "expected a whole number of days, at least 1"));
                    }

                    break;
                case "citation": citation = YamlText.Scalar(value, at, problems) ?? ""; break;
                default: problems.Add(new PolicyProblem(at, "unknown key; expected keep_days or citation")); break;
            }
        }

        if (days is null && problems.Count == before)
        {
            problems.Add(new PolicyProblem($"{path}.keep_days", "how long records are kept is required"));
        }

        if (citation.Length == 0)
        {
            problems.Add(new PolicyProblem($"{path}.citation", "a record-keeping period needs a citation"));
        }

        return problems.Count == before ? new RecordKeeping(days!.Value, citation) : null;
    }

    private static RuleDefinition? ParseRule(YamlNode node, string path, List<PolicyProblem> problems)
    {
        if (YamlText.Mapping(node, path, problems) is not { } map)
        {
            return null;
        }

        var before = problems.Count;
        string id = "", kindName = "", citation = "", description = "";
        var severity = Severity.Medium;
        var shadow = false;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> correctable = [];
        YamlMappingNode? parameterNode = null;
        foreach (var (key, value) in YamlText.Entries(map))
        {
            var at = $"{path}.{key}";
            switch (key)
            {
                case "id": id = YamlText.Scalar(value, at, problems) ?? ""; break;
                case "kind": kindName = YamlText.Scalar(value, at, problems) ?? ""; break;
                case "citation": citation = YamlText.Scalar(value, at, problems) ?? ""; break;
                case "description": description = YamlText.Scalar(value, at, problems) ?? ""; break;
                case "shadow": shadow = YamlText.Scalar(value, at, problems) == "true"; break;
                case "correctable": correctable = YamlText.Strings(value, at, problems) ?? []; break;
                case "parameters": parameterNode = YamlText.Mapping(value, at, problems); break;
                case "severity":
                    if (!Words.TryParse(YamlText.Scalar(value, at, problems) ?? "", out severity))
                    {
                        problems.Add(new PolicyProblem(at, "expected low, medium, high or critical"));
                    }

                    break;
                default: problems.Add(new PolicyProblem(at, "unknown key")); break;
            }
        }

        if (citation.Length == 0)
        {
            problems.Add(new PolicyProblem($"{path}.citation", "every rule needs a citation"));
        }

        if (!RuleKinds.All.TryGetValue(kindName, out var kind))
        {
            problems.Add(new PolicyProblem($"{path}.kind", $"unknown rule kind '{kindName}'"));
            return null;
        }

        foreach (var (key, value) in parameterNode is null ? [] : YamlText.Entries(parameterNode))
        {
            var at = $"{path}.parameters.{key}";
            if (kind.Find(key) is not { } spec)
            {
                problems.Add(new PolicyProblem(at, $"unknown parameter for kind {kind.Name}"));
            }
            else if (YamlText.Value(value, at, problems) is { } text)
            {
                if (RuleKinds.Invalid(spec, text) is { } why)
                {
                    problems.Add(new PolicyProblem(at, why));
                }

                parameters[key] = text;
            }
        }

        foreach (var spec in kind.Parameters.Where(s => !parameters.ContainsKey(s.Name)))
        {
            if (spec.Default is null)
            {
                problems.Add(new PolicyProblem($"{path}.parameters", $"missing required parameter '{spec.Name}'"));
            }
            else
            {
                parameters[spec.Name] = spec.Default;
            }
        }

        foreach (var name in correctable.Where(c => kind.Find(c) is null))
        {
            problems.Add(new PolicyProblem($"{path}.correctable", $"'{name}' is not a parameter of kind {kind.Name}"));
        }

        return problems.Count == before
            ? new RuleDefinition(id, kindName, citation, description, severity, shadow, parameters, correctable)
            : null;
    }
}
