using Compliance.Domain.Rules;

namespace Compliance.Domain.Policies;

/// <summary>
/// A named rule set (a law or guideline) with the places it applies to. A <see cref="Required"/> profile applies
/// wherever it says it does, whatever the lender's policy: a lender may tighten its rules or watch one in shadow
/// mode, but not exclude the profile. <see cref="Records"/> is the profile's record-keeping period, if it sets one;
/// <see cref="Scoring"/> the risk weights of violations, which one profile of a catalog sets.
/// <see cref="PostalCodes"/> narrows a profile to a locality within the places of <see cref="AppliesTo"/> (New York
/// City within US-NY): when set, the profile applies by location only to an account whose postal code starts with
/// one of them. <see cref="InForceFrom"/> is when the rules took effect: a contact before it is not judged by them.
/// </summary>
public sealed record Profile(
    string Id,
    string Title,
    IReadOnlyList<string> AppliesTo,
    string Version,
    IReadOnlyList<RuleDefinition> Rules,
    bool Required = false,
    RecordKeeping? Records = null,
    Events.RiskWeights? Scoring = null,
    IReadOnlyList<string>? PostalCodes = null,
    DateTimeOffset? InForceFrom = null);

/// <summary>How long a law keeps collection records: at least <see cref="KeepDays"/> days after the last activity on the debt.</summary>
public sealed record RecordKeeping(int KeepDays, string Citation);

/// <summary>
/// One rule of a profile as data: its kind (implemented in code), citation and parameters. Parameters are kept in
/// their canonical text form (lists comma-separated). <see cref="Correctable"/> names the parameters whose value
/// comes from a reprint and which a lender may therefore change in either direction; all others may only be
/// tightened.
/// </summary>
public sealed record RuleDefinition(
    string Id,
    string Kind,
    string Citation,
    string Description,
    Severity Severity,
    bool Shadow,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<string> Correctable);
