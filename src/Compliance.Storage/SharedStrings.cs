using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>
/// Equal strings read from many rows, kept once. A reader gives every value its own copy; a borrower's attempts name
/// the same few accounts, collectors, destinations and parties again and again, and the cached histories keep them.
/// For one read: it holds what the read saw, and goes with it.
/// </summary>
internal sealed class SharedStrings
{
    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);

    /// <summary>The first equal string seen, or this one.</summary>
    public string Of(string value)
    {
        if (value.Length == 0)
        {
            return string.Empty;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        _strings.Add(value);
        return value;
    }

    /// <summary>The attempt with its ids shared.</summary>
    public Attempt Of(Attempt attempt) => attempt with
    {
        AccountId = Of(attempt.AccountId),
        CollectorId = Of(attempt.CollectorId),
        DestinationHash = Of(attempt.DestinationHash),
        PartyId = Of(attempt.PartyId),
    };
}
