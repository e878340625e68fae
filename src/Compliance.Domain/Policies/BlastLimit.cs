using System.Runtime.InteropServices;
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

    /// <summary>Who was reached: a registered party once, whichever of its numbers or addresses; an unregistered number by its keyed hash.</summary>
    public static string ThirdParty(string partyId, string destinationHash) => partyId.Length > 0 ? "party:" + partyId : destinationHash;

    /// <inheritdoc cref="ThirdParty(string, string)"/>
    public static string ThirdParty(in Attempt attempt) => ThirdParty(attempt.PartyId, attempt.DestinationHash);

    /// <summary>
    /// The windows (end - <see cref="Window"/>, end] that hold one of <paramref name="contacts"/> and more than
    /// <see cref="MaxThirdParties"/> distinct third parties, each with the attempts counted in it (in time order). Window
    /// ends are the counted attempts' own times, so a late contact that completes a blast with later ones is found as
    /// well as one that does with earlier ones. The first such window is taken, then the first that does not overlap it,
    /// and so on: one blast is one window. One pass over the attempts and the contacts in time order.
    /// </summary>
    public List<(DateTimeOffset End, List<T> Counted)> Blasts<T>(IReadOnlyList<T> history, Func<T, Attempt> attempt, string accountId, IReadOnlyCollection<DateTimeOffset> contacts)
    {
        var found = new List<(DateTimeOffset, List<T>)>();
        var counted = history.Where(r => Counts(attempt(r), accountId)).OrderBy(r => attempt(r).At).ToList();
        var news = contacts.Order().ToArray();
        var reached = new Dictionary<string, int>(StringComparer.Ordinal);
        var (first, next) = (0, 0);
        var freeFrom = DateTimeOffset.MinValue;
        for (var last = 0; last < counted.Count; last++)
        {
            var end = attempt(counted[last]).At;
            CollectionsMarshal.GetValueRefOrAddDefault(reached, ThirdParty(attempt(counted[last])), out _)++;
            if (last + 1 < counted.Count && attempt(counted[last + 1]).At == end)
            {
                continue; // the window ends after every attempt at its instant
            }

            for (; first <= last && attempt(counted[first]).At <= end - Window; first++)
            {
                var key = ThirdParty(attempt(counted[first]));
                if (--reached[key] == 0)
                {
                    reached.Remove(key);
                }
            }

            // The first new contact after the window's start: is it inside the window?
            for (; next < news.Length && news[next] <= end - Window; next++)
            {
            }

            if (reached.Count > MaxThirdParties && next < news.Length && news[next] <= end && end - Window >= freeFrom)
            {
                found.Add((end, counted.GetRange(first, last - first + 1)));
                freeFrom = end;
            }
        }

        return found;
    }
}
