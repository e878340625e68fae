using Compliance.Domain.Rules;

namespace Compliance.Domain.Policies;

/// <summary>
/// An address-book-blast rule of a compiled policy: contacts about one account may reach at most
/// <see cref="MaxThirdParties"/> distinct third parties within <see cref="Window"/>. The gate denies the contact that
/// goes over; the ingest, which also sees contacts that never asked, raises a critical incident naming
/// <see cref="RuleId"/> and <see cref="Citation"/>.
/// </summary>
public sealed record BlastLimit(string RuleId, string Profile, string Citation, Severity Severity, bool Shadow, int MaxThirdParties, TimeSpan Window)
{
    /// <summary>Unrelated parties and numbers not registered on the account.</summary>
    public static bool IsThirdParty(DestinationClass destination) => destination is DestinationClass.UnrelatedParty or DestinationClass.Unknown;

    /// <summary>Whether the attempt counts towards the account's third parties: a contact about the account, to a third party, that reached the network.</summary>
    public bool Counts(in Attempt attempt, string accountId) =>
        IsThirdParty(attempt.DestinationClass) && attempt.Outcome != AttemptOutcome.NotConnected
        && string.Equals(attempt.AccountId, accountId, StringComparison.Ordinal);
}
