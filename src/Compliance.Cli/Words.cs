using Compliance.Api.V1;

namespace Compliance.Cli;

/// <summary>Which key of the key file a command sends when no --key is given.</summary>
internal enum KeyRole
{
    CollectionSystem,
    ComplianceOfficer,
    Auditor,
    Administrator,
    PlatformAdmin,
}

/// <summary>Two-way map between the words a person types ("opt-out") and enum values.</summary>
internal sealed class WordMap<T>
    where T : struct, Enum
{
    private readonly (string Word, T Value)[] _pairs;

    public WordMap(params (string Word, T Value)[] pairs) => _pairs = pairs;

    public IEnumerable<string> Words => _pairs.Select(p => p.Word);

    public string List => string.Join("|", Words);

    public bool TryParse(string word, out T value)
    {
        foreach (var pair in _pairs)
        {
            if (string.Equals(pair.Word, word, StringComparison.OrdinalIgnoreCase))
            {
                value = pair.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Parses a word the option's own validation has already accepted.</summary>
    public T Parse(string word) => TryParse(word, out var value) ? value : throw new UsageException($"'{word}' is not one of {List}.");

    /// <summary>The word for a value; empty for the unspecified zero value, the enum name for values this client does not know.</summary>
    public string Name(T value)
    {
        foreach (var pair in _pairs)
        {
            if (EqualityComparer<T>.Default.Equals(pair.Value, value))
            {
                return pair.Word;
            }
        }

        return EqualityComparer<T>.Default.Equals(value, default) ? "" : value.ToString();
    }
}

/// <summary>The words for the contract's enums, shared by option parsing and table output.</summary>
internal static class Words
{
    public static readonly WordMap<KeyRole> KeyRoles = new(
        ("collection-system", KeyRole.CollectionSystem),
        ("compliance-officer", KeyRole.ComplianceOfficer),
        ("auditor", KeyRole.Auditor),
        ("administrator", KeyRole.Administrator),
        ("platform-admin", KeyRole.PlatformAdmin));

    /// <summary>Names of the lender keys in dev-keys.json (the server writes the role names in snake case).</summary>
    public static readonly IReadOnlyDictionary<KeyRole, string> KeyFileNames = new Dictionary<KeyRole, string>
    {
        [KeyRole.CollectionSystem] = "collection_system",
        [KeyRole.ComplianceOfficer] = "compliance_officer",
        [KeyRole.Auditor] = "auditor",
        [KeyRole.Administrator] = "administrator",
    };

    public static readonly WordMap<Role> ApiRoles = new(
        ("collection-system", Role.CollectionSystem),
        ("compliance-officer", Role.ComplianceOfficer),
        ("auditor", Role.Auditor),
        ("administrator", Role.Administrator));

    public static readonly WordMap<PartyRole> PartyRoles = new(
        ("guarantor", PartyRole.Guarantor),
        ("co-borrower", PartyRole.CoBorrower),
        ("spouse", PartyRole.Spouse),
        ("attorney", PartyRole.Attorney),
        ("executor", PartyRole.Executor),
        ("guardian", PartyRole.Guardian),
        ("parent-of-minor", PartyRole.ParentOfMinor),
        ("emergency-contact", PartyRole.EmergencyContact),
        ("relative", PartyRole.Relative),
        ("friend", PartyRole.Friend),
        ("colleague", PartyRole.Colleague),
        ("employer", PartyRole.Employer),
        ("other", PartyRole.Other));

    public static readonly WordMap<FlagType> FlagTypes = new(
        ("attorney", FlagType.AttorneyRepresented),
        ("cease", FlagType.CeaseCommunication),
        ("dispute", FlagType.Dispute),
        ("consent", FlagType.ConsentToContact),
        ("opt-out", FlagType.MediumOptOut),
        ("workplace-prohibited", FlagType.WorkplaceContactProhibited),
        ("bankruptcy", FlagType.Bankruptcy),
        ("legal-hold", FlagType.LegalHold),
        ("consent-outside-hours", FlagType.ConsentOutsideHours),
        ("third-party-refused", FlagType.ThirdPartyRefused),
        ("third-party-consent", FlagType.ThirdPartyConsent),
        ("wrong-number", FlagType.WrongNumber),
        ("validation-notice", FlagType.ValidationNoticeSent),
        ("location-answer-incomplete", FlagType.LocationAnswerIncomplete),
        ("written-electronic-consent", FlagType.WrittenElectronicConsent));

    public static readonly WordMap<WrongNumberSource> WrongNumberSources = new(
        ("consumer", WrongNumberSource.Consumer),
        ("third-party", WrongNumberSource.ThirdParty),
        ("reassigned-numbers-check", WrongNumberSource.ReassignedNumbersCheck));

    public static readonly WordMap<ValidationDelivery> ValidationDeliveries = new(
        ("written", ValidationDelivery.Written),
        ("electronic", ValidationDelivery.Electronic),
        ("oral", ValidationDelivery.Oral));

    public static readonly WordMap<Channel> Channels = new(
        ("call", Channel.VoiceCall),
        ("sms", Channel.Sms),
        ("email", Channel.Email),
        ("im", Channel.InstantMessage),
        ("visit", Channel.Visit),
        ("letter", Channel.Letter));

    public static readonly WordMap<ContactPointUse> ContactUses = new(
        ("mobile", ContactPointUse.Mobile),
        ("home", ContactPointUse.Home),
        ("work", ContactPointUse.Work),
        ("other", ContactPointUse.Other));

    public static readonly WordMap<ContactPointKind> ContactKinds = new(
        ("phone", ContactPointKind.Phone),
        ("email", ContactPointKind.Email),
        ("im", ContactPointKind.InstantMessage),
        ("postal", ContactPointKind.PostalAddress));

    public static readonly WordMap<ContactPurpose> Purposes = new(
        ("collect", ContactPurpose.CollectDebt),
        ("locate", ContactPurpose.LocateBorrower),
        ("message", ContactPurpose.PassMessage),
        ("respond", ContactPurpose.RespondToConsumer),
        ("cease-confirmation", ContactPurpose.CeaseConfirmation));

    public static readonly WordMap<DestinationClass> DestinationClasses = new(
        ("own", DestinationClass.Own),
        ("related-party", DestinationClass.RelatedParty),
        ("unrelated-party", DestinationClass.UnrelatedParty),
        ("unknown", DestinationClass.Unknown));

    public static readonly WordMap<Verdict> Verdicts = new(
        ("ALLOW", Verdict.Allow),
        ("DENY", Verdict.Deny));

    /// <summary>SHADOW marks a rule that would have denied but only reports.</summary>
    public static readonly WordMap<RuleEffect> RuleEffects = new(
        ("DENY", RuleEffect.Deny),
        ("SHADOW", RuleEffect.ShadowDeny));

    /// <summary>What says that a borrower may be in a zone.</summary>
    public static readonly WordMap<ZoneSource> ZoneSources = new(
        ("account zone", ZoneSource.AccountZone),
        ("account zone, confirmed", ZoneSource.ConfirmedAccountZone),
        ("region", ZoneSource.Region),
        ("own number", ZoneSource.ContactPoint),
        ("number contacted", ZoneSource.Destination),
        ("country", ZoneSource.Country),
        ("nothing known (UTC)", ZoneSource.Fallback));

    public static readonly WordMap<Severity> Severities = new(
        ("low", Severity.Low),
        ("medium", Severity.Medium),
        ("high", Severity.High),
        ("critical", Severity.Critical));

    public static readonly WordMap<AckStatus> AckStatuses = new(
        ("accepted", AckStatus.Accepted),
        ("duplicate", AckStatus.Duplicate),
        ("rejected", AckStatus.Rejected));

    public static readonly WordMap<ComplaintSource> ComplaintSources = new(
        ("hotline", ComplaintSource.RegulatorHotline),
        ("borrower", ComplaintSource.Borrower),
        ("court", ComplaintSource.Court),
        ("other", ComplaintSource.Other));

    public static readonly WordMap<ComplaintStatus> ComplaintStatuses = new(
        ("received", ComplaintStatus.Received),
        ("investigating", ComplaintStatus.Investigating),
        ("answered", ComplaintStatus.Answered),
        ("closed", ComplaintStatus.Closed));

    public static readonly WordMap<CollectorKind> CollectorKinds = new(
        ("human", CollectorKind.Human),
        ("ai-voice", CollectorKind.AiVoice),
        ("automated", CollectorKind.Automated));
}
