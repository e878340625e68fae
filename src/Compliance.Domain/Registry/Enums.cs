namespace Compliance.Domain.Registry;

/// <summary>How a contact reaches a person.</summary>
public enum Channel
{
    Unspecified = 0,
    VoiceCall = 1,
    Sms = 2,
    Email = 3,
    InstantMessage = 4,
    Visit = 5,
    Letter = 6,
}

/// <summary>What kind of address a contact point is.</summary>
public enum ContactPointKind
{
    Unspecified = 0,
    Phone = 1,
    Email = 2,
    InstantMessage = 3,
    PostalAddress = 4,
}

/// <summary>Where a contact point rings or arrives.</summary>
public enum ContactPointUse
{
    Unspecified = 0,
    Mobile = 1,
    Home = 2,
    Work = 3,
    Other = 4,
}

/// <summary>Who a party is to the borrower.</summary>
public enum PartyRole
{
    Unspecified = 0,
    Guarantor = 1,
    CoBorrower = 2,
    Spouse = 3,
    Attorney = 4,
    Executor = 5,
    Guardian = 6,
    ParentOfMinor = 7,
    EmergencyContact = 20,
    Relative = 21,
    Friend = 22,
    Colleague = 23,
    Employer = 24,
    Other = 25,
}

/// <summary>Facts about an account that change what contact is allowed.</summary>
public enum FlagType
{
    Unspecified = 0,
    AttorneyRepresented = 1,
    CeaseCommunication = 2,
    Dispute = 3,
    ConsentToContact = 4,
    MediumOptOut = 5,
    WorkplaceContactProhibited = 6,
    Bankruptcy = 7,
    LegalHold = 8,
    ConsentOutsideHours = 9,
    ThirdPartyRefused = 10,
    ThirdPartyConsent = 11,
    /// <summary>A number or address of the account is not the consumer's (a wrong number, or reassigned) from the flag's effective time.</summary>
    WrongNumber = 12,
    /// <summary>The validation notice (12 CFR 1006.34) was sent, or given orally, at the flag's effective time.</summary>
    ValidationNoticeSent = 13,
    LocationAnswerIncomplete = 17,
    WrittenElectronicConsent = 18,
}

/// <summary>Who told the lender that a number is not the consumer's (<see cref="FlagType.WrongNumber"/>).</summary>
public enum WrongNumberSource
{
    Unspecified = 0,
    Consumer = 1,
    ThirdParty = 2,
    ReassignedNumbersCheck = 3,
}

/// <summary>How the validation information was provided (<see cref="FlagType.ValidationNoticeSent"/>; 12 CFR 1006.34(a)(1)).</summary>
public enum ValidationDelivery
{
    Unspecified = 0,
    Written = 1,
    Electronic = 2,
    Oral = 3,
}

/// <summary>Who or what places a contact.</summary>
public enum CollectorKind
{
    Unspecified = 0,
    Human = 1,
    AiVoice = 2,
    Automated = 3,
}

/// <summary>What an API key may do.</summary>
public enum Role
{
    Unspecified = 0,
    CollectionSystem = 1,
    ComplianceOfficer = 2,
    Auditor = 3,
    Administrator = 4,
}

/// <summary>Facts about party roles the rules depend on.</summary>
public static class PartyRoles
{
    /// <summary>Debt-related parties (guarantor, co-borrower, spouse, attorney, executor, guardian, parent of a minor).</summary>
    public static bool IsRelated(this PartyRole role) => role is >= PartyRole.Guarantor and <= PartyRole.ParentOfMinor;
}
